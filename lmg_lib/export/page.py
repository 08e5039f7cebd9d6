"""The explorer page itself: media as data URIs, the embedded data, the inline CSS and JavaScript."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from .runs import GROUPS, METRIC_COLUMNS, METRIC_UNITS, UTTERANCE_COLUMNS, model_label, run_group


def image_data_uri(image: np.ndarray, fmt: str = "webp") -> str:
    """uint8 (H, W, 3) -> a data URI: ``webp`` (lossy, quality 90: a 16-frame strip is ~7 kB, 8x
    smaller than PNG, so a page can hold every shipped run) or ``png`` (lossless). Neither
    carries a timestamp: stable bytes."""
    from PIL import Image
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(image))
    if fmt == "webp":
        im.save(buf, format="WEBP", quality=90, method=6)
    elif fmt == "png":
        im.save(buf, format="PNG", optimize=True)
    else:
        raise ValueError(f"image format must be webp or png, got {fmt!r}")
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def mp4_data_uri(frames: np.ndarray, wav=None, comment: str | None = None, crf: int = 23) -> str:
    """uint8 (T, H, W, 3) (+ a wav muxed as AAC) -> an H.264 mp4 data URI."""
    import tempfile
    from ..util.video_io import write_video
    with tempfile.TemporaryDirectory() as d:
        p = write_video(Path(d) / "clip.mp4", frames, audio_path=wav, crf=crf, comment=comment)
        return "data:video/mp4;base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def strip(frames: np.ndarray) -> np.ndarray:
    """(T, S, S, 3) -> one row (S, T*S, 3)."""
    return np.concatenate(list(frames), axis=1)


def sentence_frames(clips: list[np.ndarray], starts: list[int], stride: int) -> np.ndarray:
    """Consecutive clips (T, S, S, 3) of one utterance starting at ``starts`` -> one video: each
    clip gives its first ``stride`` frames, the last clip all of its frames."""
    order = np.argsort(starts)
    parts = [clips[k][:stride] for k in order[:-1]] + [clips[order[-1]]]
    return np.concatenate(parts)


def _points(lm) -> list | None:
    """Landmarks (T, 20, 2) rounded to 0.1 px, a frame without a mouth (NaN) as null."""
    if lm is None:
        return None
    return [None if not np.isfinite(f).all() else np.round(f, 1).tolist() for f in np.asarray(lm, float)]


def _metrics(table, speaker: str, utterance: str, clip: int, columns: dict | None = None) -> dict:
    """One clip's metrics from a per-clip table: {name: value} for ``columns`` ({column: name};
    default every ``METRIC_COLUMNS``), finite values only, rounded to 3 decimals."""
    if table is None:
        return {}
    row = table[(table["speaker"] == speaker) & (table["utterance"] == utterance) & (table["clip"] == clip)]
    if row.empty:
        return {}
    r = row.iloc[0]
    columns = columns or {k: k for k in METRIC_COLUMNS}
    return {name: round(float(r[k]), 3) for k, name in columns.items() if k in row and np.isfinite(float(r[k]))}


def explorer_data(models: dict, dataset, picks: list[int], metrics: dict, detect=None, audio: dict | None = None,
                  video: bool = True, title: str = "", fmt: str = "webp", about: dict | None = None,
                  first: tuple = ()) -> dict:
    """Everything the page shows, as JSON-ready data.

    ``models``: name -> (model ``(lms, ref) -> video, ...``, source text), in the select boxes'
    order; ``dataset``: a clip dataset (``LipClipDataset``, its items as in the evaluation);
    ``picks``: the index of the one clip shown per utterance, the first one the page opens on;
    ``metrics``: name -> that run's per-clip table (or None); ``detect``: uint8 frames -> (T, 20, 2)
    landmarks; ``audio``: (speaker, utterance) -> wav path of the sentence; ``video``: embed the
    sentences as mp4 (with speech if ``audio`` has it); ``fmt``: the strips' image format
    (``image_data_uri``); ``about``: name -> ``describe_run`` (label, one line, recipe, test-set
    summary); ``first``: the two models the page opens on (default: the first two).

    JSON objects lose their order (the page writes them with sorted keys), so the order is kept
    explicitly: ``order`` (every model), ``groups`` (title and runs, ``run_group``) and
    ``defaults``."""
    import torch
    from ..util.pixels import to_uint8_frames
    by_utt: dict = {}
    for i, c in enumerate(dataset.clips):
        by_utt.setdefault((c["speaker"], c["utterance"]), []).append(i)
    utterances = []
    about = about or {}
    # the real frames' CPBD (the reference a model's CPBD is read against), the same in every model's table
    real_table = next((t for t in metrics.values() if t is not None and "cpbd_real" in t), None)
    real_summary = next((a["real_summary"] for a in about.values() if a.get("real_summary")), {})
    out_models = {n: {"source": src, "label": model_label(n), "line": "", "recipe": "", "summary": {},
                      **about.get(n, {}), "clips": {}} for n, (_, src) in models.items()}
    for i in picks:
        d = dataset[i]
        spk, utt, clip = d["speaker"], d["utterance"], int(d["clip"])
        key = f"{spk}/{utt}"
        idx = sorted(by_utt[(spk, utt)])
        items = [dataset[j] for j in idx]
        starts = [int(dataset.clips[j]["start_frame"]) for j in idx]
        stride = int(np.diff(sorted(starts)).min()) if len(starts) > 1 else dataset.T
        lms, ref = torch.stack([x["lms"] for x in items]), torch.stack([x["ref"] for x in items])
        real = [to_uint8_frames(x["video"].numpy()) for x in items]
        k = idx.index(i)
        wav = (audio or {}).get((spk, utt))
        wav = _trimmed_wav(wav, len(sentence_frames(real, starts, stride)) / 25.0) if wav and video else None
        real_cpbd = _metrics(real_table, spk, utt, clip, {"cpbd_real": "cpbd"})
        utterances.append({"key": key, "label": f"{spk} · {utt} · clip {clip}", "clip": clip, "metrics": real_cpbd,
                           "strip": image_data_uri(strip(real[k]), fmt),
                           "landmarks": _points(detect(real[k]) if detect else None),
                           "video": mp4_data_uri(sentence_frames(real, starts, stride), wav) if video else None})
        for name, (model, _) in models.items():
            with torch.inference_mode():
                out = model(lms, ref)
            fake = [to_uint8_frames(v) for v in (out[0] if isinstance(out, tuple) else out).numpy()]
            mov = sentence_frames(fake, starts, stride)
            out_models[name]["clips"][key] = {
                "strip": image_data_uri(strip(fake[k]), fmt),
                "landmarks": _points(detect(fake[k]) if detect else None),
                "metrics": _metrics(metrics.get(name), spk, utt, clip),
                "video": mp4_data_uri(mov, wav, comment="generated by lmg: synthetic lip movements, not a recording")
                if video else None}
        if wav:
            Path(wav).unlink()
    order = list(models)
    groups = [{"title": t, "runs": [n for n in order if run_group(n) == g]} for g, t in enumerate(GROUPS)]
    lead = [n for n in first if n in models]
    a, b = (lead + [n for n in order if n not in lead])[:2] if len(order) > 1 else (order[0], order[0])
    return {"title": title, "utterances": utterances, "models": out_models, "metric_names": [*METRIC_COLUMNS, *UTTERANCE_COLUMNS],
            "metric_units": {k: METRIC_UNITS[k] for k in (*METRIC_COLUMNS, *UTTERANCE_COLUMNS) if k in METRIC_UNITS},
            "real_summary": real_summary, "order": order, "groups": [g for g in groups if g["runs"]],
            "defaults": {"a": a, "b": b, "utterance": utterances[0]["key"] if utterances else None}}


def _trimmed_wav(path, seconds: float) -> str:
    """A temporary copy of the first ``seconds`` of a wav (the sentence's video is that long)."""
    import tempfile
    import soundfile as sf
    x, sr = sf.read(str(path), dtype="float32")
    fd, tmp = tempfile.mkstemp(suffix=".wav")
    import os
    os.close(fd)
    sf.write(tmp, x[:int(round(seconds * sr))], sr, subtype="PCM_16")
    return tmp


# ----------------------------------------------------------------------------- the page
CSS = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 1.2em auto; padding: 0 1em; color: #222; }
.controls label { display: block; margin-bottom: 0.4em; }          /* one per line: a model's whole name shows */
.controls select { font-size: 0.95em; max-width: calc(100% - 6em); }
.row { display: grid; grid-template-columns: 390px 200px 1fr; gap: 12px; align-items: center;
       margin: 10px 0; padding: 6px; border: 1px solid #ddd; border-radius: 4px; }
.row h3 { margin: 0 0 2px 0; font-size: 1em; overflow-wrap: anywhere; }
.line { font-size: 0.8em; color: #444; margin-bottom: 4px; overflow-wrap: anywhere; }
table.metrics { font-size: 0.78em; color: #333; border-collapse: collapse; }
table.metrics td, table.metrics th { padding: 0 0.5em 0 0; text-align: right; font-weight: normal; }
table.metrics th { color: #666; } table.metrics td:first-child { text-align: left; }
table.metrics td:not(:first-child) { white-space: nowrap; }
canvas { image-rendering: pixelated; border: 1px solid #999; }
.strip img { width: 100%; image-rendering: pixelated; }
.videos { display: flex; gap: 16px; flex-wrap: wrap; } .videos figure { margin: 0; }
.videos video { width: 256px; image-rendering: pixelated; } .note { font-size: 0.85em; color: #555; }
"""

JS = r"""
const D = JSON.parse(document.getElementById('explorer-data').textContent);
const $ = id => document.getElementById(id);
const named = m => m.recipe ? `${m.label} (${m.recipe})` : m.label;   // every trained model says its recipe
function fillModels(sel, value) {           // D.groups keeps the order (a JSON object has none)
  for (const g of D.groups) {
    const og = document.createElement('optgroup'); og.label = g.title;
    for (const n of g.runs) {
      const o = document.createElement('option'); o.value = n; o.textContent = named(D.models[n]);
      og.appendChild(o);
    }
    sel.appendChild(og);
  }
  sel.value = value;
}
fillModels($('variant-a'), D.defaults.a);
fillModels($('variant-b'), D.defaults.b);
for (const u of D.utterances) {
  const o = document.createElement('option'); o.value = u.key; o.textContent = u.label; $('utterance').appendChild(o);
}
$('utterance').value = D.defaults.utterance;
const rows = ['real', 'a', 'b'], images = {};
let frame = 0;
function current() {
  const u = D.utterances.find(x => x.key === $('utterance').value);
  const A = D.models[$('variant-a').value].clips[u.key], B = D.models[$('variant-b').value].clips[u.key];
  return {u, real: u, a: A, b: B};
}
const fmt = v => (typeof v === 'number' && isFinite(v)) ? v.toFixed(3) : '—';
function pair(a, b, k) {      // a minus b over the same test sentences: [mean, low, high, share of sentences below 0]
  const P = D.paired || {};
  if (a === b) return null;
  if (P[a] && P[a][b] && P[a][b][k]) return P[a][b][k];
  if (P[b] && P[b][a] && P[b][a][k]) { const [x, l, h, s] = P[b][a][k]; return [-x, -h, -l, 1 - s]; }
  return null;
}
function metricsTable(el, clip, summary) {
  el.textContent = '';
  const keys = D.metric_names.filter(k => k in clip || k in summary);
  if (!keys.length) {            // trained and shipped, but chosen on validation only: never scored on the test speakers
    el.insertRow().insertCell().textContent = 'not evaluated on the test speakers (a run of a search or a probe, ' +
      'read on the validation speakers only: docs/TRAINING.md); its frames here are generated by the exporter';
    return;
  }
  const head = el.insertRow();
  const evaluated = keys.some(k => k in summary);       // a validation-only run has no test-set numbers
  for (const t of ['', 'this clip', evaluated ? 'test set: mean [95 % CI]' : 'test set: not evaluated']) { const th = document.createElement('th'); th.textContent = t; head.appendChild(th); }
  for (const k of keys) {
    const r = el.insertRow(), s = summary[k];
    r.insertCell().textContent = k + (D.metric_units[k] ? ` (${D.metric_units[k]})` : '');
    r.insertCell().textContent = fmt(clip[k]);
    r.insertCell().textContent = s ? `${fmt(s[0])} [${fmt(s[1])}, ${fmt(s[2])}]` : '—';
  }
}
function draw() {
  const c = current();
  for (const r of rows) {
    const cv = $('canvas-' + r), ctx = cv.getContext('2d'), img = images[r];
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, cv.width, cv.height);
    if (!img || !img.complete) continue;
    const S = img.naturalHeight, k = cv.width / S;
    ctx.drawImage(img, frame * S, 0, S, S, 0, 0, cv.width, cv.height);
    const lm = c[r].landmarks;
    if ($('show-landmarks').checked && lm && lm[frame]) {
      ctx.fillStyle = 'cyan';
      for (const [x, y] of lm[frame]) { ctx.beginPath(); ctx.arc(x * k, y * k, 2.2, 0, 2 * Math.PI); ctx.fill(); }
    }
  }
  $('frame-label').textContent = `frame ${frame}`;
}
function update() {
  const c = current();
  const m = {a: D.models[$('variant-a').value], b: D.models[$('variant-b').value]};
  for (const r of rows) {
    if (r === 'real') {
      $('name-real').textContent = 'real (ground truth)';
      $('line-real').textContent = c.u.label;
      metricsTable($('metrics-real'), c.u.metrics || {}, D.real_summary || {});   // its CPBD: what a model's is read against
    } else {
      $('name-' + r).textContent = r.toUpperCase() + ': ' + named(m[r]);
      $('line-' + r).textContent = [m[r].line, m[r].source].filter(x => x).join(' · ');
      metricsTable($('metrics-' + r), c[r].metrics, m[r].summary);
    }
    $('strip-' + r).src = c[r].strip;
    images[r] = $('strip-' + r);
    const v = $('video-' + r);
    if (c[r].video) { if (v.getAttribute('src') !== c[r].video) v.src = c[r].video; v.parentElement.style.display = ''; }
    else { v.removeAttribute('src'); v.parentElement.style.display = 'none'; }
    $('vcap-' + r).textContent = r === 'real' ? 'real' : r.toUpperCase() + ': ' + named(m[r]);
  }
  // one clip is one draw: the test set's verdict is the paired difference over the same sentences
  const lmd = r => c[r].metrics.lmd, ci = r => m[r].summary.lmd || [];
  const na = $('variant-a').value, nb = $('variant-b').value;
  const d = pair(na, nb, 'lmd'), dr = pair(na, nb, 'opening_r');
  const clear = x => x[2] < 0 || x[1] > 0;                      // the paired 95 % interval excludes 0
  let test = '.';
  if (d) {
    test = `. Over the test set, paired by sentence: A minus B = ${fmt(d[0])} [${fmt(d[1])}, ${fmt(d[2])}] px, ` +
      `A lower on ${Math.round(100 * d[3])} % of the sentences` + (!clear(d)
        ? ': the interval includes 0, so the test set does not separate A and B on LMD.'
        : isFinite(lmd('a')) && isFinite(lmd('b')) && (lmd('a') < lmd('b')) !== (d[0] < 0)
          ? ': the test set separates them the other way from this clip; one clip is one draw.'
          : ': the test set separates them the same way as this clip.') +
      (dr ? ` Opening r, A minus B: ${fmt(dr[0])} [${fmt(dr[1])}, ${fmt(dr[2])}]` +
            (clear(dr) ? '.' : ' (includes 0).') : '');
  } else if (isFinite(ci('a')[0]) && isFinite(ci('b')[0])) {      // no paired values: the two intervals only
    test = `; over the test set: A ${fmt(ci('a')[0])} [${fmt(ci('a')[1])}, ${fmt(ci('a')[2])}], ` +
      `B ${fmt(ci('b')[0])} [${fmt(ci('b')[1])}, ${fmt(ci('b')[2])}] (each over its sentences, not paired).`;
  } else if (na !== nb) {
    test = '; no test-set comparison: at least one of the two runs was not evaluated on the test speakers.';
  }
  $('compare').textContent = (isFinite(lmd('a')) && isFinite(lmd('b')))
    ? `LMD on this clip: A ${fmt(lmd('a'))} px, B ${fmt(lmd('b'))} px` + test : '';
  const Y = D.yardsticks || [];
  $('scale').textContent = Y.length ? 'For scale, test-set LMD (mean [95 % CI]): ' +
    Y.map(([k, x, l, h]) => `${k} ${fmt(x)} [${fmt(l)}, ${fmt(h)}] px`).join('; ') +
    '. The ceiling predicts the mouth from the phoneme timing alone; the average mouth is a constant.' : '';
  draw();
}
for (const r of rows) $('strip-' + r).addEventListener('load', draw);
['variant-a', 'variant-b', 'utterance'].forEach(id => $(id).addEventListener('change', update));
$('show-landmarks').addEventListener('change', draw);
$('frame').addEventListener('input', e => { frame = +e.target.value; draw(); });
setInterval(() => { if ($('animate').checked) { frame = (frame + 1) % 16; $('frame').value = frame; draw(); } }, 80);
$('play-all').addEventListener('click', () => {
  const vs = rows.map(r => $('video-' + r)).filter(v => v.getAttribute('src'));
  vs.forEach((v, k) => { v.currentTime = 0; v.muted = k > 0; v.play(); });
});
update();
"""


def _row(r: str) -> str:
    return (f'<div class="row"><div><h3 id="name-{r}"></h3><div class="line" id="line-{r}"></div>'
            f'<table class="metrics" id="metrics-{r}"></table></div>'
            f'<canvas id="canvas-{r}" width="192" height="192"></canvas>'
            f'<div class="strip"><img id="strip-{r}" alt="16 frames, {r}"></div></div>')


def explorer_html(data: dict, intro: str = "") -> str:
    """The page: select boxes, the real clip and two variants (animated frame, the 16-frame strip,
    landmarks, per-clip metrics), and the sentences as videos with sound."""
    if not data["models"] or not data["utterances"]:
        raise ValueError("the explorer needs at least one model and one utterance")
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    title = html.escape(data.get("title") or "Explorer")
    videos = "".join(f'<figure><video id="video-{r}" controls preload="metadata"></video>'
                     f'<figcaption id="vcap-{r}"></figcaption></figure>' for r in ("real", "a", "b"))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n{intro}\n"
            '<div class="controls"><label>model A <select id="variant-a"></select></label>'
            '<label>model B <select id="variant-b"></select></label>'
            '<label>utterance <select id="utterance"></select></label></div>\n'
            '<p class="controls"><label><input type="checkbox" id="animate" checked> play</label>'
            '<label><input type="range" id="frame" min="0" max="15" value="0"> <span id="frame-label"></span></label>'
            '<label><input type="checkbox" id="show-landmarks" checked> detected lip landmarks</label></p>\n'
            + "".join(_row(r) for r in ("real", "a", "b")) + '<p class="note" id="compare"></p><p class="note" id="scale"></p>' +
            f'\n<h2>The whole sentence, with its speech</h2>\n<p><button id="play-all">play the three together</button></p>'
            f'\n<div class="videos">{videos}</div>\n'
            f'<script type="application/json" id="explorer-data">{payload}</script>\n'
            f"<script>{JS}</script>\n</body>\n</html>\n")

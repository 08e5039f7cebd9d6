"""The explorer without a kernel: one self-contained HTML page (inline JavaScript only).

Notebook 5's explorer runs Python on every change; a page read without a kernel cannot, so every
combination is computed here, once, and embedded: for every model (the shipped runs under
``checkpoints/``) and every utterance of a small held-out set, the 16 frames of one clip as an image
strip (WebP or PNG), the lip landmarks the shipped regressor detects on them, that clip's row of the
run's per-clip metrics beside the run's test-set means and intervals, and optionally the whole
sentence as a playable mp4 with its speech. The page's select boxes (model A, model B, utterance)
only choose among these; the models are grouped (Table 3 models, Table 2 variants (a)-(i), probes
and seeds) and each says its paper letter, its losses and its recipe (``describe_run``).

    runs = discover_models("checkpoints")                       # name -> run folder, in page order
    models = {name: (model, "checkpoints/<name>") ...}          # + notebook.shipped_model
    data = explorer_data(models, dataset, picks, metrics, detect, audio,
                         about={n: describe_run(d) for n, d in runs.items()}, first=("full", "speech2vid"))
    Path("explorer.html").write_text(explorer_html(data))

Deterministic: the same models and clips give byte-identical pages (images without timestamps, mp4
from a fixed encoder setting, JSON with sorted keys; the order of models and groups is kept in
explicit lists, since a JSON object's key order is not).
"""
from __future__ import annotations

import base64
import html
import io
import json
import shlex
from pathlib import Path

import numpy as np

from .eval.results import MODELS, PROBES

METRIC_COLUMNS = ("lmd", "lmd_shuffled", "opening_r", "psnr", "ssim", "psnr_mouth", "ssim_mouth", "cpbd")
TABLE3_RUNS = tuple(MODELS.values())          # the full model and the baselines, in Table 3's order
GROUPS = ("Table 3: the full model and the baselines (Chen et al. 2018, Table 3)",
          "Table 2: the ablation variants (a)-(i) (Chen et al. 2018, Table 2)",
          "Probes of the recipe, second seeds and other runs")
# what each baseline's network is (its losses come from the run's --variant, its recipe from --config)
ARCHITECTURE = {"speech2vid": "per-frame 2-D encoder-decoder (Chung et al.)",
                "vgan": "audio-conditioned video GAN (Vondrick et al.)"}
# --set keys that change only what a run writes, not what it learns (left out of its recipe line)
BOOKKEEPING = {"log_every", "val_every", "sample_every", "checkpoint_every"}


def _split(name: str) -> tuple[str, int]:
    """``ablation_l1_seed1`` -> (``ablation_l1``, 1); a name without ``_seed<k>`` is seed 0."""
    base, _, seed = name.partition("_seed")
    return (base, int(seed)) if seed.isdigit() else (name, 0)


def run_group(name: str) -> int:
    """The explorer's group of a shipped run (an index of ``GROUPS``): the Table 3 models, the
    Table 2 variants (seed 0), then everything else (probes, second seeds, other runs)."""
    base, seed = _split(name)
    if seed:
        return 2
    return 0 if base in TABLE3_RUNS else 1 if base.startswith("ablation_") else 2


def _order_key(name: str):
    """Table 3's order, then the paper letters (a)-(i); in the last group the probes first, then
    second seeds in the same order, then other runs."""
    from .config import PAPER_LETTER
    base, seed = _split(name)
    if base in PROBES.values():
        k = (0, list(PROBES.values()).index(base))
    elif base in TABLE3_RUNS:
        k = (1, TABLE3_RUNS.index(base))
    elif base.startswith("ablation_"):
        k = (2, PAPER_LETTER.get(base[len("ablation_"):]) or "~")
    else:
        k = (3, 0)
    return run_group(name), k, base, seed


def discover_models(root) -> dict[str, Path]:
    """Every shipped run under ``root`` (a folder with ``generator.safetensors``) trained on the
    default corpus style, in the explorer's order: the Table 3 models (full, Speech2Vid, VGAN), the
    ablation variants in the paper's order (a)-(i), then probes, second seeds and other runs."""
    found = {p.parent.name: p.parent for p in Path(root).glob("*/generator.safetensors")
             if _style(p.parent) == "rendered"}       # the page's clips are the default style's
    return {n: found[n] for n in sorted(found, key=_order_key)}


def _style(run: Path) -> str:
    """The corpus style a shipped run was trained on (its ``record.json``; the default if unrecorded)."""
    rec = run / "record.json"
    cfg = json.loads(rec.read_text()).get("corpus_config") if rec.exists() else None
    return (cfg or {}).get("style", "rendered")


def recipe_of(command: str) -> str:
    """The recipe a training command ran, in words: its preset and what the command changed
    (``lmg train --config cpu --steps 600 --set train.gan_start=200 ...`` -> ``cpu recipe, 600 steps,
    gan_start=200``); a key set twice shows its last value (the one that won), and settings that only
    change what a run writes are left out."""
    toks, preset, steps, sets = shlex.split(command), "paper", None, {}
    for k, t in enumerate(toks[:-1]):
        if t == "--config":
            preset = toks[k + 1]
        elif t == "--steps":
            steps = toks[k + 1]
        elif t == "--set":
            key, _, value = toks[k + 1].partition("=")
            if key.rsplit(".", 1)[-1] not in BOOKKEEPING:
                sets[key.rsplit(".", 1)[-1]] = value
    return ", ".join([f"{preset} recipe", *([f"{steps} steps"] if steps else []), *(f"{k}={v}" for k, v in sets.items())])


def _flag(command: str, flag: str) -> str | None:
    toks = shlex.split(command)
    return toks[toks.index(flag) + 1] if flag in toks[:-1] else None


def model_label(name: str) -> str:
    """The select box's name for a shipped run: the paper's names for the full model and the
    baselines, ``(letter) variant`` for ``ablation_<variant>``, ``, seed k`` for a second seed."""
    from .config import PAPER_LETTER
    base, seed = _split(name)
    table3 = {run: label for label, run in MODELS.items()}
    probes = {run: label for label, run in PROBES.items()}
    if name in probes:
        return f"full model, probe: {probes[name]}"
    if base in table3:
        label = table3[base]
    elif base == "noskips":
        label = "(e) full, without the identity skips"
    elif base.startswith("ablation_"):
        variant = base[len("ablation_"):]
        label = f"({PAPER_LETTER.get(variant) or '-'}) {variant}"
    else:
        label = base
    return label + (f", seed {seed}" if seed else "")


def describe_run(run: Path) -> dict:
    """What the explorer says about one shipped run folder: its ``label`` (``model_label``), one
    ``line`` (its losses and discriminator from its ``--variant``, and its network for a baseline),
    its ``recipe`` (``recipe_of`` its recorded command), and ``summary``: the test-set mean and 95 %
    interval of each metric from its ``summary.csv`` (metric -> [mean, low, high])."""
    import pandas as pd
    from .config import ABLATIONS
    from .viz import ablation_line
    run = Path(run)
    rec = json.loads((run / "record.json").read_text()) if (run / "record.json").exists() else {}
    command = rec.get("command", "")
    variant = _flag(command, "--variant") if command else None
    line = ablation_line(variant, ABLATIONS[variant]) if variant in ABLATIONS else ""
    arch = ARCHITECTURE.get(_flag(command, "--model") if command else None)
    summary = {}
    if (run / "summary.csv").exists():
        s = pd.read_csv(run / "summary.csv")
        s = s[s.source == "per_clip"] if "source" in s else s
        summary = {r.metric: [round(float(r.mean), 3), round(float(r.ci_low), 3), round(float(r.ci_high), 3)]
                   for r in s.itertuples() if r.metric in METRIC_COLUMNS and np.isfinite(float(r.mean))}
    return {"label": model_label(run.name), "line": f"{arch}; {line}" if arch else line,
            "recipe": recipe_of(command) if command else "recipe not recorded", "summary": summary}


def representative_clip(candidates, reference, metrics=("lmd", "opening_r")) -> int:
    """The row label of ``candidates`` (a per-clip table) closest to the median clip of ``reference``
    (the same model's per-clip table over the whole test set): the distance sums, per metric, the
    gap to the reference's median in units of the reference's interquartile range. A clip on which
    the model does neither well nor badly, in every metric named."""
    c = candidates.dropna(subset=list(metrics))
    if c.empty:
        raise ValueError("no candidate clip has every metric")
    dist = 0
    for m in metrics:
        q1, med, q3 = np.nanpercentile(reference[m].to_numpy(float), [25, 50, 75])
        dist = dist + (c[m] - med).abs() / (q3 - q1 if q3 > q1 else 1.0)
    return dist.idxmin()


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
    from .util.video_io import write_video
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


def _metrics(table, speaker: str, utterance: str, clip: int) -> dict:
    if table is None:
        return {}
    row = table[(table["speaker"] == speaker) & (table["utterance"] == utterance) & (table["clip"] == clip)]
    if row.empty:
        return {}
    r = row.iloc[0]
    return {k: round(float(r[k]), 3) for k in METRIC_COLUMNS if k in row and np.isfinite(float(r[k]))}


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
    from .util.pixels import to_uint8_frames
    by_utt: dict = {}
    for i, c in enumerate(dataset.clips):
        by_utt.setdefault((c["speaker"], c["utterance"]), []).append(i)
    utterances = []
    about = about or {}
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
        utterances.append({"key": key, "label": f"{spk} · {utt} · clip {clip}", "clip": clip,
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
    return {"title": title, "utterances": utterances, "models": out_models, "metric_names": list(METRIC_COLUMNS),
            "order": order, "groups": [g for g in groups if g["runs"]],
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
.controls label { margin-right: 1.2em; display: inline-block; margin-bottom: 0.3em; }
select { font-size: 0.95em; max-width: 640px; }
.row { display: grid; grid-template-columns: 300px 200px 1fr; gap: 12px; align-items: center;
       margin: 10px 0; padding: 6px; border: 1px solid #ddd; border-radius: 4px; }
.row h3 { margin: 0 0 2px 0; font-size: 1em; overflow-wrap: anywhere; }
.line { font-size: 0.8em; color: #444; margin-bottom: 4px; overflow-wrap: anywhere; }
table.metrics { font-size: 0.78em; color: #333; border-collapse: collapse; }
table.metrics td, table.metrics th { padding: 0 0.5em 0 0; text-align: right; font-weight: normal; }
table.metrics th { color: #666; } table.metrics td:first-child { text-align: left; }
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
function metricsTable(el, clip, summary) {
  el.textContent = '';
  const keys = D.metric_names.filter(k => k in clip || k in summary);
  if (!keys.length) { el.insertRow().insertCell().textContent = 'no metrics shipped'; return; }
  const head = el.insertRow();
  for (const t of ['', 'this clip', 'test set: mean [95 % CI]']) { const th = document.createElement('th'); th.textContent = t; head.appendChild(th); }
  for (const k of keys) {
    const r = el.insertRow(), s = summary[k];
    r.insertCell().textContent = k;
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
      $('metrics-real').textContent = '';
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
            + "".join(_row(r) for r in ("real", "a", "b")) +
            f'\n<h2>The whole sentence, with its speech</h2>\n<p><button id="play-all">play the three together</button></p>'
            f'\n<div class="videos">{videos}</div>\n'
            f'<script type="application/json" id="explorer-data">{payload}</script>\n'
            f"<script>{JS}</script>\n</body>\n</html>\n")

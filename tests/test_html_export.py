"""The pages that read without running anything: executed notebooks exported to HTML
(``tools/export_notebooks.py``) and the ablation explorer's static page (``lmg_lib.export``).

Both must load nothing from the network, embed their images, and come out byte-identical from the
same input. A tiny executed notebook and a tiny fake model / dataset stand in for the real ones;
when Debian's ``chromium`` is installed, a real headless browser opens the pages too
(``tools/check_html.py``), else that test is skipped."""
import base64
import html
import io
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lmg_lib.util.paths import SHIPPED_FULL as FULL  # noqa: E402
from lmg_lib.eval.records import MODELS  # noqa: E402
S2V, VGAN = MODELS["Speech2Vid (Chung)"], MODELS["VGAN (Vondrick)"]   # the baselines' run folders
from lmg_lib.export import (describe_run, discover_models, explorer_data, explorer_html, model_label,  # noqa: E402
                            recipe_of, representative_clip, run_group)
from tools import check_html, export_notebooks  # noqa: E402

pytest.importorskip("latex2mathml")

# a script, stylesheet, font or image fetched from anywhere but the page itself
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)
TIMESTAMP = "2026-01-02T03:04:05.678901"


def _png(w=40, h=30) -> str:
    x = np.zeros((h, w, 3), np.uint8)
    x[:, : w // 2] = (200, 30, 30)
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _executed_notebook(path: Path) -> str:
    png = _png()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 9 · A tiny notebook\n\nThe loss $\\mathcal{L}_{pix} = \\|v - \\hat v\\|_1$ and\n\n"
                                      "$$\\mathcal{L} = \\sum_t w_t \\mathcal{L}_t$$\n\n`$not math$` in code"),
        nbformat.v4.new_code_cell("plot()", execution_count=3, outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("stream", name="stdout", text="done\n")]),
        nbformat.v4.new_code_cell("curves()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": _png(20, 10), "text/plain": "<Figure>"},
            metadata={"alt": 'LMD "px" <against> steps'})]),
        nbformat.v4.new_code_cell("bar()", outputs=[nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "bar", "version_major": 2, "version_minor": 0},
            "text/plain": "train:   0%|  | 0/40"})]),
        nbformat.v4.new_code_cell("interactive()", outputs=[nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "ui", "version_major": 2, "version_minor": 0},
            "text/plain": "interactive(children=...)"})]),
        nbformat.v4.new_markdown_cell("**Exercise.** What is six times seven?\n\n<details><summary>Hint</summary>\n\n"
                                      "Multiply `6` by $7$: not *forty*.\n</details>"),
        nbformat.v4.new_code_cell("answer = 6 * 7\nassert answer == 42", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="the answer is 42\n")]),
    ]
    nb.cells[-1].metadata["tags"] = ["solution"]
    nb.cells[1].metadata["papermill"] = {"start_time": TIMESTAMP, "duration": 1.23456}
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": TIMESTAMP}
    state = {"bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_d", "IPY_MODEL_p", "IPY_MODEL_t"]}},
             "d": {"model_name": "HTMLModel", "state": {"value": "train full"}},
             "t": {"model_name": "HTMLModel", "state": {"value": " 40/40 [00:44&lt;00:00,  2.18it/s]"}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 40, "max": 40}},
             "ui": {"model_name": "VBoxModel", "state": {"_dom_classes": ["widget-interact"], "children": []}}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    nb.metadata["papermill"] = {"start_time": TIMESTAMP}
    nbformat.write(nb, path)
    return png


@pytest.fixture()
def exported(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    png = _executed_notebook(src / "09_tiny.ipynb")
    pages = export_notebooks.export_all(src, out)
    return src, out, pages, png


def test_notebook_page_is_offline_with_math_and_figure(exported):
    src, out, pages, png = exported
    assert [p.name for p in pages] == ["09_tiny.html", "index.html"]
    page = (out / "09_tiny.html").read_text()
    assert "<script" not in page and not EXTERNAL.search(page)          # nothing to run, nothing fetched
    assert f'src="data:image/png;base64,{png}"' in page                   # the figure, byte for byte
    assert page.count("<math") == 3 and 'display="block"' in page         # inline, display, the hint's
    assert "$$" not in page and "$not math$" in page                     # code spans keep their dollars
    assert re.search(r'train full <progress max="40" value="40">', page)  # tqdm's final state
    assert "00:44" not in page and "it/s" not in page                      # without its times
    assert 'href="explorer.html"' in page                                 # the control points to the static explorer
    assert TIMESTAMP not in page and "1.23456" not in page                 # no execution times
    assert "A tiny notebook" in (out / "index.html").read_text()


def test_every_figure_has_an_alt_text(exported):
    """A figure shown with an ``alt`` in its output's metadata keeps it on the page, escaped; any
    other figure is described by its place (section and notebook): no stock "No description"."""
    page = (exported[1] / "09_tiny.html").read_text()
    img = [t for t in re.findall(r"<img[^>]*>", page) if _png(20, 10) in t]
    alt = re.search(r"""alt=(["'])(.*?)\1""", img[0]) if len(img) == 1 else None
    assert alt and html.unescape(alt.group(2)) == 'LMD "px" <against> steps' and "<against>" not in img[0]
    first = [t for t in re.findall(r"<img[^>]*>", page) if _png() in t]
    assert len(first) == 1 and "Figure 1 of section \u201cthe introduction\u201d of 9 · A tiny notebook" in \
        html.unescape(first[0])
    assert page.count("<img") == 2 and "No description has been provided" not in page


def test_solution_cells_are_collapsed_and_nothing_else(exported):
    """An exercise's solution (a cell tagged ``solution``) opens on a click: its code and output sit
    in a closed ``<details>``; the other cells stay open."""
    page = (exported[1] / "09_tiny.html").read_text()
    hidden = re.findall(r'<details class="solution"><summary>Solution \(click to open\)</summary>(.*?)</details>',
                        page, re.S)
    assert len(hidden) == 1 and "the answer is 42" in hidden[0] and "answer" in hidden[0]
    assert "plot" not in hidden[0] and "done" not in hidden[0]
    assert "<details open" not in page
    # the exercise's hint: its text (code, formula, emphasis rendered) inside the closed element
    hint = re.findall(r"<details><summary>Hint</summary>(.*?)</details>", page, re.S)
    assert len(hint) == 1 and "<code>6</code>" in hint[0] and "<math" in hint[0] and "<em>forty</em>" in hint[0]
    # the cell's own div still closes after the details: as many <div as </div>
    assert page.count("<div") == page.count("</div>")


def test_notebook_export_is_deterministic(exported, tmp_path):
    src, out, pages, _ = exported
    again = export_notebooks.export_all(src, tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in pages]


def test_exporter_refuses_an_empty_folder(tmp_path):
    assert export_notebooks.main(["--src", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the explorer
class _FakeClips:
    """Two utterances of one clip each, in the ``LipClipDataset`` item layout (16 frames of 8 px)."""
    T = 16

    def __init__(self):
        self.clips = [dict(speaker="s1", utterance="aaa", clip=0, start_frame=0),
                      dict(speaker="s2", utterance="bbb", clip=3, start_frame=24)]

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        video = torch.rand(3, 16, 8, 8, generator=g) * 2 - 1
        c = self.clips[i]
        return dict(lms=torch.rand(1, 64, 128, generator=g), ref=video[:, 0].clone(), video=video, **c)


class _Shift(torch.nn.Module):
    """A stand-in generator: the reference frame repeated and shifted by ``b``."""

    def __init__(self, b):
        super().__init__()
        self.b = b

    def forward(self, lms, ref):
        return (ref.unsqueeze(2).repeat(1, 1, 16, 1, 1) * 0.5 + self.b).clamp(-1, 1), None


def _explorer(tmp_path, video=True, names=(FULL, VGAN), first=()):
    import soundfile as sf
    wav = tmp_path / "s1_aaa.wav"
    sf.write(wav, np.sin(np.arange(16000) / 10.0).astype(np.float32) * 0.1, 16000)
    models = {n: (_Shift(0.2 - 0.4 * k), f"checkpoints/{n}") for k, n in enumerate(names)}
    table = pd.DataFrame([dict(speaker="s2", utterance="bbb", clip=2, lmd=9.0, psnr=1.0),
                          dict(speaker="s2", utterance="bbb", clip=3, lmd=1.25, psnr=30.0, cpbd_real=0.16)])
    detect = lambda frames: np.full((len(frames), 20, 2), 4.0)
    return explorer_data(models, _FakeClips(), [0, 1], {FULL: table, VGAN: None}, detect=detect,
                         audio={("s1", "aaa"): wav}, video=video, title="fake models: a test", first=first)


def _page_data(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


def test_explorer_page_holds_every_combination_and_nothing_external(tmp_path):
    data = _explorer(tmp_path)
    page = explorer_html(data)
    assert not EXTERNAL.search(page) and not re.search(r"<script[^>]*\bsrc=", page)
    for sel in ("variant-a", "variant-b", "utterance"):
        assert f'<select id="{sel}">' in page
    got = _page_data(page)
    assert got == json.loads(json.dumps(data))                     # the page's data object is the data
    keys = [u["key"] for u in got["utterances"]]
    assert keys == ["s1/aaa", "s2/bbb"]
    assert [got["models"][n]["label"] for n in (FULL, VGAN)] == ["full model", "VGAN (Vondrick)"]
    for name in (FULL, VGAN):                                  # every model x every utterance
        assert sorted(got["models"][name]["clips"]) == keys
        for clip in got["models"][name]["clips"].values():
            strip = Image.open(io.BytesIO(base64.b64decode(clip["strip"].split(",", 1)[1])))
            assert strip.size == (16 * 8, 8)                       # 16 frames side by side
            assert clip["video"].startswith("data:video/mp4;base64,") and len(clip["video"]) > 1000
    # the two models' frames differ (a switch shows something else)
    assert got["models"][FULL]["clips"]["s1/aaa"]["strip"] != got["models"][VGAN]["clips"]["s1/aaa"]["strip"]
    # the metrics are the row of the shown clip (clip 3), not another clip of the sentence
    assert got["models"][FULL]["clips"]["s2/bbb"]["metrics"] == {"lmd": 1.25, "psnr": 30.0}
    assert got["models"][VGAN]["clips"]["s2/bbb"]["metrics"] == {}
    # the real frames' CPBD (what a model's is read against) on the real row, not on a model's
    assert got["utterances"][1]["metrics"] == {"cpbd": 0.16} and got["utterances"][0]["metrics"] == {}
    assert got["utterances"][0]["landmarks"][0][0] == [4.0, 4.0]


def test_explorer_page_is_deterministic_and_refuses_nothing_to_show(tmp_path):
    a, b = explorer_html(_explorer(tmp_path, video=False)), explorer_html(_explorer(tmp_path, video=False))
    assert a == b and "data:video" not in a
    with pytest.raises(ValueError):
        explorer_html({"models": {}, "utterances": [], "metric_names": []})


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="no chromium (Debian: apt-get install -y chromium)")
def test_pages_in_a_real_headless_browser(exported, tmp_path, capsys):
    _, out, _, _ = exported
    (out / "explorer.html").write_text(explorer_html(_explorer(tmp_path)))
    pages = [str(out / n) for n in ("09_tiny.html", "explorer.html")]
    assert check_html.main(pages + ["--min-images", "1"]) == 0, capsys.readouterr().out
    text = capsys.readouterr().out
    assert "2/2 images loaded, 3/3 formulas rendered" in text         # the two figures and the three formulas
    assert "3/3 images loaded" in text and "select switches" in text   # the explorer, switched through


def test_discover_models_orders_shipped_runs_and_labels_them(tmp_path):
    """Table 3 models first, then their other seeds, the ablation variants in the paper's order
    (a)-(i) -- not the alphabet: (b) l1 before (c) gan --, their other seeds and noskips, the rest of
    the learning-rate search, then the probes and other runs."""
    for name in ("ablation_l1_seed1", VGAN, "ablation_gan", FULL, "noskips", S2V, "ablation_l1",
                 "ablation_gan_only", "full_warmup1200", "controls", f"{VGAN}_seed1", f"{VGAN}_lr3e-3"):
        (tmp_path / name).mkdir()
        if name != "controls":                                    # no generator: not a model
            (tmp_path / name / "generator.safetensors").write_bytes(b"")
    assert list(discover_models(tmp_path)) == [FULL, S2V, VGAN, f"{VGAN}_seed1", "ablation_gan_only", "ablation_l1",
                                               "ablation_gan", "ablation_l1_seed1", "noskips", f"{VGAN}_lr3e-3",
                                               "full_warmup1200"]
    assert [run_group(n) for n in discover_models(tmp_path)] == [0, 0, 0, 1, 2, 2, 2, 3, 3, 4, 5]
    from lmg_lib.config import PAPER_LETTER
    assert model_label("ablation_l1_seed1") == f"({PAPER_LETTER['l1']}) l1, seed 1"
    assert model_label(VGAN) == "VGAN (Vondrick)" and model_label(FULL) == "full model"
    # a learning-rate search run: its rate is in its recipe, read from its generator's header, not
    # from its name; a baseline at its searched rate (eval.seeds.SEEDS) says so, beside Table 3
    from lmg_lib.config import make_config
    from lmg_lib.util.weights import save_weights
    cfg = make_config("cpu2", {"train.lr": 2.5e-4}, variant="l1")
    save_weights(tmp_path / f"{S2V}_lr3e-4" / "generator.safetensors", {"w": torch.zeros(1)},
                 {"config": json.dumps(cfg.to_dict())})
    assert model_label(f"{S2V}_lr3e-4", tmp_path) == "Speech2Vid (Chung), at its searched rate"
    assert run_group(f"{S2V}_lr3e-4") == 0 and run_group(f"{S2V}_lr3e-4_seed2") == 1
    assert model_label(f"{VGAN}_lr3e-3") == "VGAN (Vondrick), learning-rate search"
    assert model_label(S2V) == "Speech2Vid (Chung), at the preset's rate"
    # its recipe in the explorer is the records' label of it: the rate named, no D step (L1 only)
    (tmp_path / f"{S2V}_lr3e-4" / "record.json").write_text(json.dumps(
        {"command": "lmg train --config cpu2 --model speech2vid --variant l1 --set train.lr=2.5e-4", "seed": 0}))
    assert describe_run(tmp_path / f"{S2V}_lr3e-4")["recipe"] == "cpu2 recipe, 4 000 steps, lr 0.00025, seed 0"
    cfg = make_config("cpu", {"train.gan_start": 1200}, variant="l1")
    save_weights(tmp_path / "ablation_l1" / "generator.safetensors", {"w": torch.zeros(1)},
                 {"config": json.dumps(cfg.to_dict())})
    (tmp_path / "ablation_l1" / "record.json").write_text(json.dumps({"command": "lmg train --variant l1", "seed": 2}))
    assert describe_run(tmp_path / "ablation_l1")["recipe"] == "cpu recipe, 1 500 steps, seed 2"
    (tmp_path / "ablation_l1" / "record.json").write_text(json.dumps({"command": "lmg train --variant full", "seed": 2}))
    assert describe_run(tmp_path / "ablation_l1")["recipe"] == "cpu recipe, 1 500 steps, D from step 1 200, seed 2"


def test_describe_run_reads_recipe_losses_and_test_set_means(tmp_path):
    run = tmp_path / "ablation_l1"
    run.mkdir()
    (run / "record.json").write_text(json.dumps({"command": "lmg train --config cpu --model generator --variant l1 "
                                                 "--steps 600 --set train.gan_start=200 --set train.val_every=150"}))
    pd.DataFrame([dict(metric="lmd", n=200, mean=1.9, ci_low=1.85, ci_high=1.95, source="per_clip"),
                  dict(metric="lse_d", n=200, mean=1.1, ci_low=1.0, ci_high=1.2, source="per_utterance_sync")]
                 ).to_csv(run / "summary.csv", index=False)
    d = describe_run(run)
    assert d["recipe"] == "cpu recipe, 600 steps"          # val_every changes nothing learnt, gan_start neither
    rec = json.loads((run / "record.json").read_text())     # (no loss term of (b) reads D); with D it is named
    (run / "record.json").write_text(json.dumps({"command": rec["command"].replace("--variant l1", "--variant full")}))
    assert describe_run(run)["recipe"] == "cpu recipe, 600 steps, gan_start=200"
    assert d["line"] == "L_pix, no D" and d["label"] == "(b) l1"
    assert d["summary"] == {"lmd": [1.9, 1.85, 1.95], "lse_d": [1.1, 1.0, 1.2]}    # LSE-D of whole utterances too
    assert recipe_of("lmg train --config cpu --model speech2vid --variant l1") == "cpu recipe"
    (run / "record.json").write_text(json.dumps({"command": rec["command"], "seed": 1}))
    assert describe_run(run)["recipe"] == "cpu recipe, 600 steps, seed 1"     # the seed from its record


def test_representative_clip_is_near_the_median_in_every_metric():
    """Not the best clip, not the worst, and not one typical in LMD but not in opening r."""
    ref = pd.DataFrame({"lmd": np.linspace(1.0, 3.0, 101), "opening_r": np.linspace(0.0, 1.0, 101)})   # medians 2, 0.5
    cand = pd.DataFrame({"lmd": [1.0, 2.0, 2.1, 3.0], "opening_r": [0.9, -0.3, 0.45, 0.5]}, index=[7, 8, 9, 10])
    assert representative_clip(cand, ref) == 9            # 8 has the median LMD but an r far from 0.5
    assert representative_clip(cand, ref, metrics=("lmd",)) == 8
    with pytest.raises(ValueError):
        representative_clip(cand.assign(lmd=np.nan), ref)


def test_explorer_keeps_the_model_order_and_opens_on_the_chosen_pair(tmp_path):
    """JSON objects lose their order (sorted keys, Object.keys): the page carries the order, the
    groups and the opening pair as lists, and its script reads them."""
    data = _explorer(tmp_path, video=False, names=(VGAN, FULL, "ablation_l1"), first=(FULL, VGAN))
    got = _page_data(explorer_html(data))
    assert list(got["models"]) == sorted(got["models"])                  # the object is alphabetical ...
    assert got["order"] == [VGAN, FULL, "ablation_l1"]                # ... the order is not
    assert [g["runs"] for g in got["groups"]] == [[VGAN, FULL], ["ablation_l1"]]
    assert got["defaults"] == {"a": FULL, "b": VGAN, "utterance": "s1/aaa"}
    page = explorer_html(data)
    assert "D.groups" in page and "Object.keys" not in page and "D.defaults.a" in page
    assert [n for g in got["groups"] for n in g["runs"]] == got["order"]   # every model once, in order
    # every metric with a unit says it beside its name (the page reads the units from its data)
    assert got["metric_units"]["lmd"].startswith("px") and got["metric_units"]["psnr"] == "dB"
    assert "D.metric_units[k]" in page


def test_papermills_parameters_cell_says_why_it_repeats_the_parameters():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("# Parameters\nSEED = 1\n", metadata={"tags": ["injected-parameters"]})]
    out = export_notebooks.clean_notebook(nb)
    assert out.cells[0].source == "SEED = 0"
    assert out.cells[1].source.startswith("# The values this page was executed with") and "SEED = 1" in out.cells[1].source
    assert export_notebooks.clean_notebook(out).cells[1].source == out.cells[1].source      # not prefixed twice


def test_paired_table_is_the_paired_difference_of_every_pair(tmp_path):
    """The explorer's test-set verdict is paired by sentence, as the probes' is (results.paired_difference):
    two runs whose intervals overlap can still differ clearly, sentence by sentence."""
    from lmg_lib.eval.results import paired_difference
    from lmg_lib.export import paired_table
    rng = np.random.default_rng(0)
    base = rng.normal(2.0, 0.3, 40)                                   # each sentence's difficulty, shared
    for run, shift in (("a", 0.0), ("b", 0.05), ("c", 0.05)):
        (tmp_path / run).mkdir()
        rows = [dict(speaker=f"s{k % 4}", utterance=f"u{k}", clip=c, lmd=base[k] + shift + rng.normal(0, 0.01),
                     opening_r=0.5 + rng.normal(0, 0.1)) for k in range(40) for c in range(2)]
        pd.DataFrame(rows).to_csv(tmp_path / run / "per_clip.csv", index=False)
    P = paired_table(tmp_path, ["a", "b", "c", "not_evaluated"], metrics=("lmd", "opening_r"))
    assert set(P) == {"a", "b"} and set(P["a"]) == {"b", "c"}          # each pair once, in the runs' order
    ref = paired_difference(tmp_path, "a", "b", metrics=("lmd",)).set_index("metric").loc["lmd"]
    assert np.allclose(P["a"]["b"]["lmd"][:3], [ref["mean"], ref.ci_low, ref.ci_high], atol=1e-4)
    assert P["a"]["b"]["lmd"][2] < 0 and P["a"]["b"]["lmd"][3] > 0.9  # a is lower, clearly, on almost every sentence
    assert P["b"]["c"]["lmd"][1] < 0 < P["b"]["c"]["lmd"][2]          # b and c: not separated

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
                         about={n: describe_run(d) for n, d in runs.items()}, first=(SHIPPED_FULL, MODELS["Speech2Vid (Chung)"]))
    Path("explorer.html").write_text(explorer_html(data))

Deterministic: the same models and clips give byte-identical pages (images without timestamps, mp4
from a fixed encoder setting, JSON with sorted keys; the order of models and groups is kept in
explicit lists, since a JSON object's key order is not).

Two files: ``runs.py`` (which runs, in which order, with which label) and ``page.py`` (the page).
"""
from .page import (CSS, JS, explorer_data, explorer_html, image_data_uri, mp4_data_uri,  # noqa: F401
                   sentence_frames, strip)
from .runs import (ARCHITECTURE, BOOKKEEPING, GROUPS, METRIC_COLUMNS, TABLE3_RUNS, describe_run,  # noqa: F401
                   discover_models, model_label, paired_table, recipe_of, representative_clip, run_group)

"""Execute the notebooks in order with papermill: the main job of `make reproduce`.

    python tools/run_notebooks.py [--params params/smoke.yaml] [--only 01 03] [--out build/notebooks]

Sources are the jupytext ``notebooks/NN_*.py`` files (the paired ``.ipynb`` are kept in sync by
``tools/sync_notebooks.py``). Each notebook gets its section of the params file injected after its
``parameters`` cell, runs with kernel ``python3`` and a per-cell timeout, and is written executed to
``--out``. At the end the script lists every figure/table the notebooks regenerated beside the
paper's figure or table it corresponds to: under ``figures/`` for the embedded corpus, under
``$LMG_ARTEFACTS/figures/`` for a corpus given by path (``params/grid_fixture.yaml``). For the
embedded corpus it also exports the executed notebooks and the ablation explorer to self-contained
HTML under ``docs/notebooks/`` (``tools/export_explorer.py``, ``tools/export_notebooks.py``;
``--no-export`` skips it); a real-data run never overwrites them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.figure_index import FIGURES  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default=str(ROOT / "params" / "smoke.yaml"))
    ap.add_argument("--only", nargs="*", help="notebook number prefixes to run, e.g. 01 03")
    ap.add_argument("--out", default=str(ROOT / "build" / "notebooks"))
    ap.add_argument("--timeout", type=int, default=None,
                    help="per-cell timeout in seconds (default: 600 with params/smoke.yaml, whose longest cell "
                         "takes ~90 s on 2 cores, so a stalled kernel fails in minutes; 3600 otherwise)")
    ap.add_argument("--no-export", action="store_true", help="do not write the HTML pages of docs/notebooks/")
    ap.add_argument("--html", default=str(ROOT / "docs" / "notebooks"), help="where the HTML pages go")
    args = ap.parse_args(argv)
    if args.timeout is None:
        args.timeout = 600 if Path(args.params).resolve() == (ROOT / "params" / "smoke.yaml").resolve() else 3600

    import jupytext
    import papermill as pm
    import yaml

    params = yaml.safe_load(Path(args.params).read_text()) or {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    if args.only:
        sources = [s for s in sources if s.name[:2] in args.only]
    # the kernels' inline backend: every figure is shown in the executed notebook as well as saved
    # (an inherited MPLBACKEND=Agg would leave the executed notebooks without a single figure)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if os.environ.get("LMG_ARTEFACTS"):     # the kernels run in notebooks/: make a relative path absolute
        os.environ["LMG_ARTEFACTS"] = str(Path(os.environ["LMG_ARTEFACTS"]).resolve())
    total = time.time()
    for src in sources:
        nb = jupytext.read(src)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        raw = out / f".{src.stem}.input.ipynb"
        jupytext.write(nb, raw, fmt="ipynb")
        t = time.time()
        print(f"==> {src.name} with {params.get(src.stem, {})}", flush=True)
        pm.execute_notebook(str(raw), str(out / f"{src.stem}.ipynb"), parameters=params.get(src.stem, {}),
                            kernel_name="python3", execution_timeout=args.timeout, cwd=str(ROOT / "notebooks"),
                            progress_bar=False, log_output=False)
        raw.unlink()
        print(f"    done in {time.time() - t:.0f} s", flush=True)
    print(f"\nall notebooks done in {time.time() - total:.0f} s; executed copies in {out}\n")
    # the embedded corpus's figures go to figures/, a real corpus's to $LMG_ARTEFACTS/figures/
    from lmg_lib.notebook import figure_path
    folder = figure_path("any.png").parent
    ran = {s.stem for s in sources}
    print(f"Regenerated figures and tables ({folder}):")
    for name, (nb_name, _what, paper_ref) in FIGURES.items():
        if nb_name not in ran:
            continue
        # on a real corpus the figures that need the embedded corpus's ground truth are not made
        mark = "ok     " if (folder / name).exists() else "skipped" if folder != ROOT / "figures" else "MISSING"
        print(f"  [{mark}] {name:<34} {nb_name:<22} {paper_ref}")
    if not args.no_export and folder == ROOT / "figures":
        from tools import export_explorer, export_notebooks
        print(f"\nHTML pages (read without a kernel) in {args.html}:", flush=True)
        if export_explorer.main(["--out", str(Path(args.html) / "explorer.html")]):   # 2: no shipped run
            print("    (no explorer page: the notebook pages only)", flush=True)
        return export_notebooks.main(["--src", str(out), "--out", args.html])
    return 0


if __name__ == "__main__":
    sys.exit(main())

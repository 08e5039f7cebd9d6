"""Keep notebooks/NN_*.ipynb (committed without outputs) in sync with their jupytext .py sources.

    python tools/sync_notebooks.py          # write the .ipynb files from the .py files
    python tools/sync_notebooks.py --check  # exit 1 if any .ipynb differs from its .py
"""
from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent


def expected(src: Path) -> str:
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):      # stable ids: reviewable, reproducible diffs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell["id"] = f"cell-{i:02d}"
    return jupytext.writes(nb, fmt="ipynb")


def main(argv=None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    bad = []
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        dst, text = src.with_suffix(".ipynb"), expected(src)
        if check:
            if not dst.exists() or dst.read_text() != text:
                bad.append(dst.name)
        else:
            dst.write_text(text)
    if bad:
        print("out of sync with their .py source (run `python tools/sync_notebooks.py`):", *bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The figure index (tools/figure_index.py) lists every file of figures/ once, places each in the
paper (a figure or table of Chen et al. 2018, or new in this repository), names a notebook that
exists, and the README's figure table is exactly the index."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.figure_index import FIGURES, NEW, markdown_table  # noqa: E402

PAPER_REF = re.compile(r"^(Chen et al\. 2018, (Fig\. \d+|Table \d+)( \(.+\))?|" + re.escape(NEW) + r"( \(.+\))?)$")


def test_every_figure_file_is_indexed_and_every_entry_exists():
    files = {p.name for p in (ROOT / "figures").iterdir() if p.is_file()}
    assert files == set(FIGURES), {"not indexed": files - set(FIGURES), "missing": set(FIGURES) - files}


def test_each_entry_names_a_notebook_and_a_place_in_the_paper():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
    for name, (nb, what, paper) in FIGURES.items():
        assert nb in notebooks, (name, nb)
        assert what.strip(), name
        assert PAPER_REF.match(paper), (name, paper)
        stem = re.sub(r"_\d+$", "_", name.rsplit(".", 1)[0])     # eval_qualitative_0 -> eval_qualitative_
        assert stem in (ROOT / "notebooks" / f"{nb}.py").read_text(), f"{nb} does not write {name}"


def test_readme_figure_table_is_the_index():
    assert markdown_table() in (ROOT / "README.md").read_text(), \
        "README's figure table differs from tools/figure_index.py (print it with `python tools/figure_index.py`)"

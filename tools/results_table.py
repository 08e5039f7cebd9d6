"""Print the shipped results on the held-out speakers of the default corpus: our table (the models,
the controls and the audio-only ceiling as an oracle row, with the fraction of the static-to-ceiling
LMD gap each model closes), the targets with holds / missed, the paper's Table 3 beside ours and its
orderings here, then the shipped ablation runs (Table 2) with the paper's claims, and the
photographic style's table. Reads only checkpoints/ (written by tools/make_shipped.py evaluate,
``evaluate ceiling`` for the oracle row); no training.

    python tools/results_table.py            # print
    python tools/results_table.py --write    # also write figures/eval_table.md (the README's table)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmg_lib.config import PAPER_LETTER  # noqa: E402
from lmg_lib.eval.ablations import ablation_claims, ablation_long, ablation_markdown  # noqa: E402
from lmg_lib.eval.results import photo_markdown, results_markdown, to_markdown  # noqa: E402
from lmg_lib.util.paths import SHIPPED_CHECKPOINTS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write figures/eval_table.md")
    md = results_markdown(SHIPPED_CHECKPOINTS)
    if md is None:
        raise SystemExit("no shipped results under checkpoints/: run tools/make_shipped.py evaluate first")
    if ap.parse_args().write:
        (ROOT / "figures" / "eval_table.md").write_text(md + "\n")
    print(md)
    abl = ablation_long(SHIPPED_CHECKPOINTS, PAPER_LETTER)
    if len(abl):
        print("\n## The ablation runs (Chen et al. 2018, Table 2 at reduced scale)\n")
        print(ablation_markdown(abl))
        print()
        print(to_markdown(ablation_claims(abl, SHIPPED_CHECKPOINTS), index=False))
    photo = photo_markdown(SHIPPED_CHECKPOINTS)
    if photo:
        print("\n## The photographic corpus style\n")
        print(photo)
    return 0


if __name__ == "__main__":
    sys.exit(main())

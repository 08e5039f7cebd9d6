"""The paper's own numbers, kept once as data (``paper_tables.json``, with their source), for every
table that puts ours beside them. Cite them as "Chen et al. 2018, Table N"."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

PATH = Path(__file__).with_name("paper_tables.json")


@lru_cache(maxsize=1)
def paper_tables() -> dict:
    return json.loads(PATH.read_text())


def table2() -> pd.DataFrame:
    """Chen et al. 2018, Table 2 (ablation on GRID): one row per variant a-i, its losses and D,
    and LMD / SSIM / PSNR / CPBD."""
    t = paper_tables()["table2_ablation_grid"]
    rows = [{"variant": v, **spec, **{m: t["metrics"][m][v] for m in t["metrics"]}}
            for v, spec in t["variants"].items()]
    return pd.DataFrame(rows)


def table3(dataset: str | None = None) -> pd.DataFrame:
    """Chen et al. 2018, Table 3 (GRID, LDC, LRW; ground truth, Vondrick, Chung, full model)."""
    t = paper_tables()["table3_results"]
    df = pd.DataFrame(t["rows"], columns=t["columns"])
    return df if dataset is None else df[df.dataset == dataset].reset_index(drop=True)


# the decimals each metric is printed with in Tables 2-3 (the JSON's floats lose trailing zeros: 0.210
# reads 0.21); one value is printed with fewer, Table 2's PSNR of (f), 28.6, and shows as 28.60
PRINTED_DIGITS = {"LMD": 2, "SSIM": 2, "PSNR": 2, "CPBD": 3}


def as_printed(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a paper table whose metric columns are strings with the paper's decimals
    (``PRINTED_DIGITS``; "N/A" and "0" where the paper prints those), for display beside ours."""
    out = df.copy()
    for c, k in PRINTED_DIGITS.items():
        if c in out:
            out[c] = [("N/A" if pd.isna(v) else "0" if float(v) == 0 else f"{float(v):.{k}f}") for v in out[c]]
    return out


def source() -> str:
    return paper_tables()["source"]

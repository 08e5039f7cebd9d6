"""Write a tiny corpus in real GRID's on-disk layout, without ground truth: the worked example of
the real-data path (docs/DATA.md, section 8) and the fixture of tests/test_real_data_path.py.

    python tools/make_grid_fixture.py --out build/grid_fixture [--source data/corpus]
                                      [--speakers s1,s28] [--utterances 3]

Each rendered mouth of the embedded corpus is blended into a real face photo (scikit-image's
astronaut), so the videos are full faces for dlib to find; files are laid out as GRID unpacks
(``s1/video/mpg_6000/*.mpg``, ``audio_25k/s1/*.wav``, ``alignments/s1/align/*.align``), with no
sidecar and no corpus.json (``lmg_lib/data/grid_fixture.py``). Without ``--source`` the few
embedded utterances it needs are generated first (espeak-ng; a few seconds) in a temporary folder.
Deterministic: the same arguments give byte-identical files.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lmg_lib.data.grid_fixture import FixtureConfig, GridFixture, build_grid_fixture  # noqa: E402


def make_fixture(out, source=None, cfg: FixtureConfig = FixtureConfig()) -> GridFixture:
    """The fixture under ``out``; from ``source`` (an embedded corpus) or from the utterances of
    ``cfg.speakers`` generated now with the default corpus configuration (byte-identical to the
    same files of the default corpus)."""
    if source is not None:
        return build_grid_fixture(source, out, cfg)
    from lmg_lib.corpus.build import CorpusConfig, build_corpus
    known = [f"s{i}" for i in range(1, CorpusConfig().n_speakers + 1)]
    if unknown := [s for s in cfg.speakers if s not in known]:
        raise ValueError(f"speakers {unknown} are not in the default embedded corpus (s1..{known[-1]})")
    with tempfile.TemporaryDirectory(prefix="lmg-embedded-") as tmp:
        build_corpus(tmp, CorpusConfig(n_workers=1), progress=False, speakers=list(cfg.speakers),
                     max_utterances=cfg.utterances)
        return build_grid_fixture(tmp, out, cfg)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the GRID root to write (replaced if it exists)")
    ap.add_argument("--source", help="an embedded corpus (lmg corpus) to take the mouths from")
    ap.add_argument("--speakers", default=",".join(FixtureConfig.speakers), help="comma-separated")
    ap.add_argument("--utterances", type=int, default=FixtureConfig.utterances, help="per speaker")
    args = ap.parse_args(argv)
    if args.utterances < 1:
        ap.error("--utterances must be at least 1")
    cfg = replace(FixtureConfig(), speakers=tuple(s.strip() for s in args.speakers.split(",") if s.strip()),
                  utterances=args.utterances)
    t0 = time.time()
    try:
        fx = make_fixture(args.out, args.source, cfg)
    except (ValueError, FileNotFoundError) as e:
        print(f"make_grid_fixture: error: {e}", file=sys.stderr)
        return 2
    files = sorted(p for p in Path(args.out).rglob("*") if p.is_file())
    print(f"{len(fx.utterances)} utterances of {len(cfg.speakers)} speakers in GRID's layout under {args.out} "
          f"({len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB, {time.time() - t0:.1f} s):")
    for p in files[:: max(1, len(files) // 6)]:
        print("  ", p.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

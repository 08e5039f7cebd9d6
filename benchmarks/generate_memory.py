"""Peak memory of `lmg generate` against the length of the speech (one subprocess per length).

    .venv/bin/python benchmarks/generate_memory.py [--seconds 4 60 600] [--checkpoint SPEC] [--threads N]

For each length, builds speech-like audio (an espeak-ng sentence repeated with short pauses; numpy
tone bursts if espeak-ng cannot run), runs ``python -m lmg_lib generate`` on it and a lip crop (the
shipped checkpoint unless ``--checkpoint``), and prints a table: the peak resident set size of the
command (``ru_maxrss`` from ``os.wait4``: the largest of the process and the ffmpeg it ran), the
peak of the sum over the process tree (psutil, polled every 50 ms: python + ffmpeg running at the
same time), the growth over the shortest case and the wall time. It prints, it does not assert.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))                           # this repository's lmg_lib (espeak-ng speech)
SR = 16000


def speech_like(seconds: float) -> tuple[np.ndarray, str]:
    """(n,) float32 at 16 kHz of about ``seconds``: an espeak-ng sentence and a 0.25 s pause,
    repeated, or 4 Hz syllable-like tone bursts when espeak-ng is unavailable."""
    n = int(round(seconds * SR))
    try:
        from lmg_lib.corpus.speech import Voice, synthesize
        sp = synthesize("bin blue at f two now, place red by q five soon", Voice("en-us+m3"))
        unit = np.concatenate([sp.audio.astype(np.float32), np.zeros(SR // 4, np.float32)])
        return np.resize(unit, n), "espeak-ng sentence, repeated"
    except Exception:                                   # no espeak-ng: tone bursts
        t = np.arange(n) / SR
        env = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
        y = env * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 440 * t)) * 0.3
        return y.astype(np.float32), "tone bursts"


def lip_crop(path: Path) -> None:
    """An 80x80 crop around the mouth of scikit-image's astronaut (a lip crop: no face search)."""
    import skimage.data
    from PIL import Image
    Image.fromarray(skimage.data.astronaut()[250:330, 180:260]).save(path)


def _tree_rss(pid: int, stop: threading.Event, peak: list) -> None:
    """Poll the summed RSS of ``pid`` and its descendants into ``peak[0]`` until ``stop``."""
    try:
        import psutil
        proc = psutil.Process(pid)
    except Exception:
        return
    while not stop.is_set():
        try:
            procs = [proc] + proc.children(recursive=True)
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in procs if p.is_running()))
        except Exception:
            pass
        stop.wait(0.05)


def run_case(seconds: float, work: Path, image: Path, extra: list[str]) -> dict:
    import soundfile as sf
    y, kind = speech_like(seconds)
    wav, out = work / f"speech_{seconds:g}s.wav", work / f"out_{seconds:g}s.mp4"
    sf.write(wav, y, SR)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "lmg_lib", "generate", "--audio", str(wav), "--image", str(image),
           "--out", str(out)] + extra
    log_out, log_err = open(work / "stdout.txt", "w+"), open(work / "stderr.txt", "w+")    # files: no pipe to fill
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_out, stderr=log_err)
    stop, tree = threading.Event(), [0]
    poll = threading.Thread(target=_tree_rss, args=(proc.pid, stop, tree), daemon=True)
    poll.start()
    _, status, usage = os.wait4(proc.pid, 0)            # rusage of the command (and the ffmpeg it waited for)
    wall = time.perf_counter() - t
    stop.set()
    poll.join()
    proc.returncode = os.waitstatus_to_exitcode(status)     # reaped by wait4, not by Popen
    stdout, stderr = (f.seek(0) or f.read() for f in (log_out, log_err))
    log_out.close(), log_err.close()
    if proc.returncode != 0:
        raise SystemExit(f"lmg generate failed ({proc.returncode}) on {seconds:g} s: {stderr.strip()}")
    out.unlink()
    return dict(seconds=seconds, kind=kind, maxrss_mb=usage.ru_maxrss / 1024, tree_mb=tree[0] / 2**20,
                wall_s=wall, line=stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[4, 60, 600], help="speech lengths")
    p.add_argument("--checkpoint", default=None, help="generator SPEC (default: the shipped one)")
    p.add_argument("--threads", type=int, default=None, help="--threads of lmg generate")
    args = p.parse_args(argv)
    extra = (["--checkpoint", args.checkpoint] if args.checkpoint else []) + \
            (["--threads", str(args.threads)] if args.threads else [])
    rows = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        lip_crop(work / "lip.png")
        for s in args.seconds:
            rows.append(run_case(s, work, work / "lip.png", extra))
            r = rows[-1]
            print(f"{s:g} s ({r['kind']}): peak RSS {r['maxrss_mb']:.0f} MB, process tree {r['tree_mb']:.0f} MB, "
                  f"{r['wall_s']:.0f} s wall | {r['line']}", flush=True)
    base = rows[0]
    print(f"\n| speech | peak RSS (ru_maxrss) | peak RSS, python + ffmpeg | vs {base['seconds']:g} s | wall time |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seconds']:g} s | {r['maxrss_mb']:.0f} MB | {r['tree_mb']:.0f} MB | "
              f"{r['maxrss_mb'] - base['maxrss_mb']:+.0f} MB | {r['wall_s']:.0f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

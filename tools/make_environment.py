"""Write environment.yml (conda) from pyproject.toml, the one list of dependencies.

    python tools/make_environment.py          # write environment.yml
    python tools/make_environment.py --check  # exit 1 if environment.yml is not what pyproject gives

The conda environment holds the core dependencies and the ``notebooks`` and ``test`` extras (what
``make env`` installs). Packages that conda-forge names differently are renamed (``CONDA_NAMES``);
those taken from PyPI even under conda go to the pip section (``PIP_ONLY``), with PyTorch pinned to
the CPU build the Makefile installs.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("notebooks", "test")
CONDA_NAMES = {"soundfile": "pysoundfile"}
PIP_ONLY = ("torch", "opencv-python-headless", "dlib-bin", "face-recognition-models")

HEADER = """\
# conda env create -f environment.yml && conda activate lmg
# Generated from pyproject.toml by tools/make_environment.py (do not edit; a test checks it).
# espeak-ng (the embedded corpus's speech) is a system package: `apt-get install espeak-ng
# libespeak-ng1` (Debian/Ubuntu) or `conda install -c conda-forge espeak-ng`.
"""


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].strip().lower()


def expected() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    python = re.search(r"(\d+\.\d+)", project["requires-python"]).group(1)
    torch_pin = re.search(r"torch==([\w.+]+)", (ROOT / "Makefile").read_text()).group(1)
    conda, pip = [], []
    for r in reqs:
        name = _name(r)
        if name == "torch":
            pip.append(f"torch=={torch_pin}")
        elif name in PIP_ONLY:
            pip.append(r)
        else:
            conda.append(CONDA_NAMES.get(name, name) + r[len(name):])
    lines = [HEADER + "name: lmg", "channels:", "  - conda-forge", "dependencies:",
             f"  - python={python}", "  - pip"]
    lines += [f"  - {r}" for r in conda]
    lines += ["  - pip:"] + [f"      - {r}" for r in pip] + ["      - -e ."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    path, text = ROOT / "environment.yml", expected()
    if check:
        if not path.exists() or path.read_text() != text:
            print("environment.yml differs from pyproject.toml: run `python tools/make_environment.py`")
            return 1
        return 0
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

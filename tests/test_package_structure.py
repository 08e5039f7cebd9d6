"""The package's shape: one source of truth for the dependencies."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_is_generated_from_pyproject():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "make_environment.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

"""``python -m lmg_lib ...`` is the ``lmg`` command (torchrun: ``torchrun -m lmg_lib train ...``)."""
import sys

from .cli import main

sys.exit(main())

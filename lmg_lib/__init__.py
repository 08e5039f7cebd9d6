"""lmg_lib: a small, readable reproduction of "Lip Movements Generation at a Glance" (Chen et al., ECCV 2018).

Folders are the paper's parts (docs/PACKAGE.md): model/, corpus/, data/, eval/, train/, infer/,
on top of config.py and util/; the ``lmg`` command is cli/."""
from .config import (AudioConfig, Config, LossConfig, ModelConfig, TrainConfig, cpu, cpu2, get_config, make_config,
                     paper, tiny)

__version__ = "0.1.0"
__all__ = ["Config", "AudioConfig", "ModelConfig", "LossConfig", "TrainConfig", "get_config", "make_config",
           "paper", "cpu", "cpu2", "tiny"]

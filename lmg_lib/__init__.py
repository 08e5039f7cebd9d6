"""lmg_lib: a small, readable reproduction of "Lip Movements Generation at a Glance" (Chen et al., ECCV 2018)."""
from .config import Config, AudioConfig, ModelConfig, LossConfig, get_config, paper, tiny

__version__ = "0.1.0"
__all__ = ["Config", "AudioConfig", "ModelConfig", "LossConfig", "get_config", "paper", "tiny"]

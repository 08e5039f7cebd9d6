"""Small building blocks shared by every network: conv + BatchNorm + ReLU, Kaiming init."""
from __future__ import annotations

import torch.nn as nn


def conv_bn_relu(c_in: int, c_out: int, k=3, stride=1, pad=1, dims: int = 2) -> nn.Sequential:
    """The authors' basic block: conv (no bias, BN follows) -> BatchNorm -> ReLU."""
    Conv, BN = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
    return nn.Sequential(Conv(c_in, c_out, k, stride, pad, bias=False), BN(c_out), nn.ReLU(inplace=True))


def kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal weights for every (transposed) conv and linear layer, unit BN, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def n_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)

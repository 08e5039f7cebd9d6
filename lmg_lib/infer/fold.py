"""How ``infer/fast.py`` reads the generator's modules: through the layers each module offers, in
order (``module.layers()`` where it defines one, a plain ``nn.Sequential``'s children), matched
against the layer kinds a fast form computes. A module that offers neither, or other layers, raises
``FoldError``: one line naming the module, never a silently different result. Also the BatchNorm
folding (exact in eval mode).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class FoldError(ValueError):
    """The fast path cannot fold a module of the generator (the message names it, on one line)."""


def cannot(name: str, module: nn.Module, why) -> FoldError:
    return FoldError(f"the fast path cannot fold {name} ({type(module).__name__}): {why}; "
                     f"the plain generator runs it (lmg generate --plain, or fast=False)")


def _plain_sequential(m: nn.Module) -> bool:
    return isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward


def layers_of(module: nn.Module, name: str) -> list[nn.Module]:
    """The layers ``module`` applies, in order, nested plain Sequentials opened: ``module.layers()``
    where it offers one, a plain Sequential's children; anything else raises ``FoldError``."""
    if callable(getattr(type(module), "layers", None)):       # a method, not a submodule
        out = list(module.layers())
    elif _plain_sequential(module):
        out = list(module)
    else:
        raise cannot(name, module, "it offers no layers() and is not a plain Sequential")
    return [x for m in out for x in (layers_of(m, name) if _plain_sequential(m) else [m])]


def match(module: nn.Module, name: str, *kinds: type) -> list[nn.Module]:
    """``layers_of(module)`` if they are exactly of ``kinds``, in order; else ``FoldError``."""
    got = layers_of(module, name)
    if len(got) != len(kinds) or not all(isinstance(m, k) for m, k in zip(got, kinds)):
        have = ", ".join(type(m).__name__ for m in got)
        raise cannot(name, module, f"its layers are [{have}], the fast path folds "
                                   f"[{', '.join(k.__name__ for k in kinds)}]")
    return got


def _bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.double() - bn.running_mean.double() * scale
    return scale, shift


def fold_conv_bn(conv: nn.Module, bn: nn.Module | None, transposed: bool = False):
    """(weight, bias) in float64 of ``bn(conv(x))`` as one convolution (eval-mode BN)."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(
        w.shape[1] if transposed else w.shape[0], dtype=torch.float64)
    if bn is None:
        return w, b
    scale, shift = _bn_scale_shift(bn)
    shape = [1, -1] + [1] * (w.dim() - 2) if transposed else [-1] + [1] * (w.dim() - 1)
    return w * scale.view(shape), b * scale + shift


def check_spatial(conv: nn.Module, what: str) -> None:
    """A Conv3d (1, 3, 3), stride 1, padding (0, 1, 1): a 2-D 3x3 conv of every frame."""
    if tuple(conv.kernel_size) != (1, 3, 3) or tuple(conv.stride) != (1, 1, 1) or \
            tuple(conv.padding) != (0, 1, 1) or tuple(conv.dilation) != (1, 1, 1) or conv.groups != 1:
        raise ValueError(f"{what} needs a Conv3d (1, 3, 3) with stride 1 and padding (0, 1, 1)")


def fold(name: str, module: nn.Module, build, *kinds: type) -> nn.Module:
    """``build(*layers)`` of ``module``'s layers if they are of ``kinds``; else ``FoldError``."""
    layers = match(module, name, *kinds)
    try:
        return build(*layers)
    except ValueError as e:            # a layer of the right kind with other sizes / strides
        raise cannot(name, module, e) from None

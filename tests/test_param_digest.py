"""Shipped runs stay remakeable: the seeded networks of every preset are pinned bit for bit.

A training run is remade from its seed, so the parameters the networks start from must not drift
when the code around them is reorganised. ``param_digest`` is the sha256 over every parameter and
buffer of G, D and the correlation encoders (phi_s, phi_v) after the seeded construction of
``build_models``. A change of architecture, initialisation or construction order changes it; if
that change is intended, update the digest here and say so in the commit message (the shipped
checkpoints then no longer come from the documented commands).
"""
import pytest
import torch

from lmg_lib.config import get_config
from lmg_lib.train import build_models, param_digest

DIGESTS = {
    "tiny": "abb4bb4b90a2d337c2951a115e0cf942ebbdf8e992b6ad44f9809eae362396d7",
    "cpu": "3ff1240662c30eeb26f504cd20876984044dff87d611e7decfca605bc6659b4b",
    "paper": "a355fd18e7eedf1674023507a4ea9652af22950b6d196b79f06f7fee1b3a6c73",
}


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"),
                    reason="pinned with torch's AVX2 normal_ kernel; other CPUs draw other low bits")
@pytest.mark.parametrize("preset", sorted(DIGESTS))
def test_seeded_models_are_pinned(preset):
    assert param_digest(build_models(get_config(preset))) == DIGESTS[preset]

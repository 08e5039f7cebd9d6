"""The networks and losses of the paper (section 3), one concept per file; they import only the
configuration (``lmg_lib.config``).

    encoders.py       audio encoder (LMS -> f_s) and image encoder (lip -> f_p)
    fusion.py         the audio-identity fusion: f_s replicated to T x F x F, f_p tiled over T
    decoder.py        the 3-D convolutional decoder: fused features -> 16 lip frames
    fast_forms.py     the fusion conv and nearest upsampling regrouped (faster, equal; one switch)
    generator.py      G(s, p) = decoder(fuse(E_s(s), E_p(p)))
    discriminator.py  the three-stream discriminator D(s, v)
    flow.py           the differentiable optical flow F(v)
    correlation.py    phi_s, phi_v and the audio-visual correlation loss L_corr
    perceptual.py     the authors' lip autoencoder (the code's perceptual features)
    losses.py         L_pix, L_perc, L_gen, L_D and the weighted total L
    blocks.py         conv-BN-ReLU, Kaiming initialisation, parameter counts
"""
from .correlation import CorrelationNet, correlation_loss
from .discriminator import ThreeStreamDiscriminator
from .generator import LipGenerator
from .perceptual import LipAutoencoder

__all__ = ["LipGenerator", "ThreeStreamDiscriminator", "CorrelationNet", "LipAutoencoder", "correlation_loss"]

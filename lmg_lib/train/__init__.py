"""Training: the paper's algorithm and everything a real run needs around it.

    step.py         building G, D and phi, their optimisers, and ONE alternating D / G step (read this)
    loop.py         Trainer: data order, resume, DDP, AMP, logging, samples; train_baseline
    checkpoints.py  one export / load for the generator and every baseline; training checkpoints
    baselines.py    the static and Speech2Vid baselines (networks with the generator's signature)
    distributed.py  resumable sampling and torchrun process groups
    logs.py         train_log.csv and TensorBoard
"""
from .checkpoints import load_generator, param_digest
from .loop import NonFiniteLossError, Trainer, train_baseline
from .step import build_models, build_optimizers, generator_terms, seed_everything, train_step

__all__ = ["Trainer", "NonFiniteLossError", "train_baseline", "build_models", "build_optimizers",
           "generator_terms", "train_step", "seed_everything", "load_generator", "param_digest"]

"""Training: the paper's algorithm and everything a real run needs around it.

    step.py         building G, D and phi, their optimisers, the loss terms' functions
                    (TERM_FUNCTIONS, one per config.LOSS_TERMS entry) and ONE alternating D / G step (read this)
    loop.py         Trainer: data order, resume, DDP, AMP, logging, samples; train_baseline
    recipe.py       the CPU recipe around the step: warm-up without D, cosine lr, EMA, validation,
                    the real-flow cache, prefetching
    recipe_table.py the table "the paper's recipe / what we trained / why" of any preset, generated
                    from the configuration, and the generator's parameter count
    checkpoints.py  one export / load for the generator and every baseline; training checkpoints
    baselines.py    the static, Speech2Vid and VGAN baselines (networks with the generator's signature)
    autoencoder.py  pretraining the authors' lip autoencoder for the autoencoder L_perc
                    (lmg pretrain-autoencoder)
    distributed.py  resumable sampling and torchrun process groups
    logs.py         train_log.csv and TensorBoard
"""
from .checkpoints import load_generator, param_digest
from .loop import NonFiniteLossError, Trainer, train_baseline
from .step import build_models, build_optimizers, generator_terms, seed_everything, train_step

__all__ = ["Trainer", "NonFiniteLossError", "train_baseline", "build_models", "build_optimizers",
           "generator_terms", "train_step", "seed_everything", "load_generator", "param_digest"]

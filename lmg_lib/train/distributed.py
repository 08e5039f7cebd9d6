"""Data order and processes: resumable sampling and multi-GPU / multi-node runs under ``torchrun``.

``ResumableSampler`` gives each rank its share of a seeded permutation per epoch and can start in the
middle of an epoch, so a resumed run continues on exactly the next batch. ``init_distributed`` joins
the process group torchrun describes (NCCL on CUDA, gloo on CPU).

BatchNorm under DDP: every rank normalises with its own batch statistics (the authors' 4-GPU
``DataParallel`` did the same: BN statistics per GPU of 6 clips). The running statistics are
broadcast from rank 0 at each forward (``broadcast_buffers``), so every rank holds rank 0's buffers
and the exported generator is the same whichever rank wrote it. ``sync_bn=True`` (``--sync-bn``,
CUDA/NCCL only) converts every BatchNorm to ``SyncBatchNorm`` for statistics over the global batch,
which matters when the per-GPU batch is small (< 8 clips).
"""
from __future__ import annotations

import os

import torch


class _EpochIndexed(torch.utils.data.Dataset):
    """Receives (epoch, index) from ``ResumableSampler`` and calls the dataset's ``set_epoch``
    inside the worker, so per-epoch randomness is right even with persistent workers."""

    def __init__(self, dataset):
        self.dataset, self._epoch = dataset, None

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        epoch, i = key
        if epoch != self._epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        self._epoch = epoch
        item = dict(self.dataset[i])
        item["index"] = torch.tensor(i)          # the clip's identity (for the real-flow cache)
        return item


class ResumableSampler(torch.utils.data.distributed.DistributedSampler):
    """The rank's share of a seeded permutation per epoch (``DistributedSampler``: the permutation
    depends only on (seed, epoch)), starting ``start`` samples into the epoch; yields (epoch, index)."""

    def __init__(self, dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=False)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = int(start)

    def __iter__(self):
        return iter([(self.epoch, i) for i in list(super().__iter__())[self.start:]])

    def __len__(self) -> int:
        return max(self.num_samples - self.start, 0)


def init_distributed(device: str | None = None) -> tuple[int, int, int, bool]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT):
    NCCL on CUDA, gloo on CPU. Returns (rank, world_size, local_rank, initialised_here)."""
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0, False
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), local, False
    cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return rank, world, local, True


def current_group():
    """``torch.distributed`` when a process group is running (under torchrun), else None."""
    import torch.distributed as dist
    return dist if dist.is_available() and dist.is_initialized() else None

"""Data-parallel training across processes started by ``torchrun``.

``gaia-stim train`` started by torchrun (which sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``) trains one run on ``WORLD_SIZE`` processes: NCCL between GPUs, gloo
between CPU processes. ``--batch-size`` stays the *global* batch, and every process
computes the *same* objective as one process on that batch:

* **Shards.** The global batch of a step is drawn as in one process (seeded by
  ``(seed, epoch)``); each rank takes the positions :func:`shard_positions` gives it.
  Interpolation pairs image ``i`` of the first half with ``B/2 + i`` and
  ``B/2 - 1 - i`` with ``B/2 + i`` (docs/design.md, section 2.2), so the positions
  ``{i, B/2-1-i, B/2+i, B-1-i}`` form closed quadruples; a rank holds whole quadruples,
  in an order for which its local pairing *is* the global pairing, and takes the global
  step's interpolation coefficients at the same positions. The global batch must be a
  multiple of 4 x world size.
* **Batch-wide terms.** The structure loss compares every pair of the B images, the
  balancing weights (lr_D, lr_G, p_fake, p_i) and the clipping of L_D and L_G use
  batch means. Every rank gathers the outputs the losses need from all ranks
  (:meth:`World.gather`) and computes the global losses itself, so each takes the same
  balancing decisions and checks the same values for NaN. The gather's backward keeps
  the rank's own slice of the gradient: rank r obtains the gradient of the global loss
  through its own images only, and the *sum* over ranks (:meth:`World.sum_gradients`)
  is exactly the one-process gradient (up to the order of float additions).

Why not ``DistributedDataParallel``: DDP synchronises gradients produced through a
wrapped module's ``forward``; the objective calls G through ``encode`` and
``decode_latent`` and runs two backward passes over one graph, each restricted with
``inputs=`` to one network's parameters. DDP would also *average* per-rank losses,
which is a different objective here (a structure loss over B/W images, per-rank
balancing). Summing the gradients explicitly after both backward passes (in buckets,
as DDP does) is what DDP's all-reduce does, without those mismatches.
"""

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import distributed

from gaia_stim.core.errors import InputError

__all__ = ["World", "SINGLE_PROCESS", "shard_positions", "launch_from_environment", "shut_down"]

logger = logging.getLogger(__name__)

# Gradients are summed in flat buckets of at most this many elements (100 MB of float32).
BUCKET_ELEMENTS = 25_000_000


def shard_positions(batch_size, rank, world_size):
    """Positions within a global batch of ``batch_size`` that rank ``rank`` of ``world_size`` trains on.

    Returns an int array of ``batch_size // world_size`` positions: the first half of them in
    the global batch's first half, the second half the same positions plus ``B/2``. Rank
    r takes the quadruples ``c`` in ``[r k, (r + 1) k)``, ``k = B / (4 W)``, ordered so that the
    local interpolation pairs (local ``j`` with ``b/2 + j``; ``b/2 - 1 - j`` with ``b/2 + j``)
    are global pairs.
    """
    if world_size == 1:
        return np.arange(batch_size)
    if batch_size % (4 * world_size):
        raise InputError(
            f"--batch-size {batch_size} cannot be shared by {world_size} processes: under torchrun it must be a"
            f" multiple of 4 x {world_size} = {4 * world_size} (each process takes whole groups of images that"
            f" are interpolated together); use --batch-size {(batch_size // (4 * world_size) + 1) * 4 * world_size}"
        )
    half = batch_size // 2
    per_rank = half // (2 * world_size)
    low = np.arange(rank * per_rank, (rank + 1) * per_rank)
    first = np.concatenate([low, (half - 1 - low)[::-1]])  # closed under i -> B/2 - 1 - i, sorted
    return np.concatenate([first, half + first])


class _Gather(torch.autograd.Function):
    """All ranks' tensors concatenated along dim 0; the gradient keeps this rank's slice."""

    @staticmethod
    def forward(ctx, tensor, rank, world_size):
        tensor = tensor.contiguous()
        parts = [torch.empty_like(tensor) for _ in range(world_size)]
        distributed.all_gather(parts, tensor)
        ctx.rank, ctx.length = rank, tensor.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, gradient):
        start = ctx.rank * ctx.length
        return gradient[start : start + ctx.length], None, None


@dataclass(frozen=True)
class World:
    """This process's place in a launch: rank, number of processes, backend.

    The single-process world (:data:`SINGLE_PROCESS`) makes every method a no-op, so the
    trainer's code is one path.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = "none"

    @property
    def is_main(self):
        """Rank 0: the only process that writes the run folder and prints."""
        return self.rank == 0

    @property
    def is_distributed(self):
        return self.world_size > 1

    def record(self):
        """What ``run.json`` says about the launch."""
        return {"world_size": self.world_size, "backend": self.backend}

    def shard(self, batch_size):
        return shard_positions(batch_size, self.rank, self.world_size)

    def gather(self, tensor):
        """(b, ...) on each rank -> (W b, ...), rank order; differentiable (see :class:`_Gather`)."""
        if not self.is_distributed:
            return tensor
        return _Gather.apply(tensor, self.rank, self.world_size)

    def sum_gradients(self, module):
        """Replace each gradient of ``module`` by its sum over ranks (flat buckets, one all-reduce each)."""
        if not self.is_distributed:
            return
        gradients = [p.grad for p in module.parameters() if p.grad is not None]
        bucket, size = [], 0
        for gradient in gradients + [None]:
            if gradient is None or (bucket and size + gradient.numel() > BUCKET_ELEMENTS):
                if bucket:
                    flat = torch.cat([g.reshape(-1) for g in bucket])
                    distributed.all_reduce(flat)
                    offset = 0
                    for g in bucket:
                        g.copy_(flat[offset : offset + g.numel()].view_as(g))
                        offset += g.numel()
                bucket, size = [], 0
            if gradient is not None:
                bucket.append(gradient)
                size += gradient.numel()

    def maximum(self, values, device):
        """The element-wise maximum over ranks of a list of numbers (so all ranks take one decision)."""
        if not self.is_distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        distributed.all_reduce(tensor, op=distributed.ReduceOp.MAX)
        return tensor.tolist()

    def barrier(self):
        if self.is_distributed:
            distributed.barrier()


SINGLE_PROCESS = World()


def _environment_integer(name):
    value = os.environ.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(
            f"the environment variable {name}={value!r} is not a whole number; torchrun sets it:"
            " start gaia-stim train with torchrun, or unset RANK, WORLD_SIZE and LOCAL_RANK"
        ) from None
    if number < 0:
        raise InputError(f"the environment variable {name}={number} is negative; torchrun sets it to 0 or more")
    return number


def launch_from_environment(device):
    """The :class:`World` torchrun started this process in (``SINGLE_PROCESS`` if not started so).

    ``device`` is ``"cpu"`` or ``"cuda"``: gloo joins CPU processes, NCCL GPUs (each process
    uses the GPU of its ``LOCAL_RANK``). Initialises the default process group.
    """
    if "WORLD_SIZE" not in os.environ:
        return SINGLE_PROCESS
    world_size = _environment_integer("WORLD_SIZE")
    rank = _environment_integer("RANK")
    local_rank = _environment_integer("LOCAL_RANK") if "LOCAL_RANK" in os.environ else 0
    if world_size < 1 or rank >= world_size:
        raise InputError(f"RANK={rank} and WORLD_SIZE={world_size} do not fit together; torchrun sets them")
    if world_size == 1:
        return SINGLE_PROCESS
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise InputError(
                f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} GPUs;"
                " give torchrun --nproc-per-node at most the number of GPUs"
            )
        torch.cuda.set_device(local_rank)
    if not distributed.is_initialized():
        distributed.init_process_group(backend=backend)
    logger.info("rank %d of %d (%s)", rank, world_size, backend)
    return World(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend)


def shut_down(world):
    if world.is_distributed and distributed.is_initialized():
        distributed.destroy_process_group()

"""Switches that make a training step faster without changing what it computes.

``--precision bf16``
    The networks run under ``torch.autocast`` in bfloat16 (convolutions and matrix products);
    every loss, the balancing and the optimiser stay in float32 (the objective casts the
    networks' outputs before computing losses). No gradient scaler is needed: bfloat16 has
    float32's exponent range.
``--channels-last`` (on by default on a CPU)
    Weights and batches in the NHWC memory layout, which oneDNN's convolutions prefer: on a
    CPU it made ``tiny`` and ``small`` steps 23-36 % faster (docs/training.md); unmeasured on GPUs,
    so off there unless asked for.
``--compile``
    ``torch.compile`` on the networks' parts (encoders, residual blocks, decoder), in place:
    parameter names, and so checkpoints and model files, stay as they are.

``benchmarks/scale.py`` measures each against the plain step, and docs/training.md records
where one helped; only that one is on by default, where it helped. None changes the files a run
writes, and a run may be resumed with other switches (results then differ by float rounding).
"""

from dataclasses import asdict, dataclass, replace

import torch

from gaia_stim.core.errors import InputError

__all__ = ["Performance", "PRECISIONS"]

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class Performance:
    precision: str = "fp32"  # "fp32", or "bf16": autocast the networks to bfloat16
    channels_last: bool = None  # NHWC weights and batches; None: on a CPU only (see resolved)
    compile: bool = False  # torch.compile the networks' parts

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")

    def resolved(self, device):
        """These switches with ``channels_last=None`` decided for ``device``."""
        if self.channels_last is not None:
            return self
        return replace(self, channels_last=torch.device(device).type == "cpu")

    def record(self):
        """What ``run.json`` says about the switches."""
        return asdict(self)

    def prepare_networks(self, *networks):
        if self.compile:
            from torch._functorch import config as functorch_config

            # D's loss is backpropagated with retain_graph=True (G's follows over the same graph),
            # which compiled backward functions allow only without donated buffers
            functorch_config.donated_buffer = False
        for network in networks:
            if self.channels_last:
                network.to(memory_format=torch.channels_last)
            if self.compile:
                for part in (network.content_encoder, network.style_encoder, network.style_mlp, network.upsample,
                             *network.blocks):
                    part.compile()  # in place: state_dict keys unchanged

    def prepare_batch(self, x):
        """x: (B, C, S, S) float, in the layout the networks use."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self, device):
        """The context one step's forward pass runs in."""
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

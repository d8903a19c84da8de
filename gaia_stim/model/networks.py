"""The GAIA networks: a generator autoencoder G and a discriminator autoencoder D.

Both follow the authors' MUNIT-style network (docs/design.md, section 2.1). Shapes are
given for the ``paper`` preset (128 px, width w = 64); other presets scale them.

G encoder
    content: conv7 (w) -> conv4/2 (2w) -> conv4/2 (4w) -> residual blocks (4w)
             -> flatten (S/4 * S/4 * 4w) -> linear -> z_c (content_dim)
    style:   conv7 (w) -> conv4/2 (2w, 4w, 4w, 4w) -> global average pool -> conv1 -> z_s
G decoder
    z_c -> linear -> (4w, S/4, S/4) -> AdaIN residual blocks (scale, shift from an MLP on z_s)
        -> 2 x [nearest up x2, conv5, LayerNorm, ReLU] (2w, w) -> conv7 -> sigmoid
D: the same at half width, without the two linear layers: its content code is the feature map.

MUNIT's LayerNorm (per-sample mean and variance over C, H, W with a per-channel
affine) is ``GroupNorm(1, C)``.

``ModelConfig.adain`` and ``ModelConfig.initialisation`` choose between the
reference's AdaIN parameters and initialisation and gaia-stim's legacy ones (see
:mod:`gaia_stim.model.config`).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from gaia_stim.model.config import ModelConfig

__all__ = ["Generator", "Discriminator", "AutoEncoder", "count_parameters", "reference_initialisation"]


def count_parameters(module):
    return sum(p.numel() for p in module.parameters())


def conv(in_channels, out_channels, kernel_size, stride=1):
    """Convolution with reflect padding that keeps the size (or halves it for stride 2)."""
    padding = (kernel_size - stride + 1) // 2 if stride == 2 else kernel_size // 2
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, padding_mode="reflect")


class ResidualBlock(nn.Module):
    """conv3-InstanceNorm(affine)-ReLU-conv3-InstanceNorm, plus the input."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            conv(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            conv(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x):
        return x + self.body(x)


def adaptive_instance_norm(x, scale, shift, eps=1e-5):
    """scale * (x - mean_HW) / sqrt(var_HW + eps) + shift; scale, shift: (B, C)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return scale[:, :, None, None] * (x - mean) * torch.rsqrt(var + eps) + shift[:, :, None, None]


class AdaINResidualBlock(nn.Module):
    """A residual block whose two normalisations take scale and shift from the style code."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = conv(channels, channels, 3)
        self.conv2 = conv(channels, channels, 3)

    def forward(self, x, adain):  # adain: (scale1, shift1, scale2, shift2), each (B, C)
        scale1, shift1, scale2, shift2 = adain
        h = F.relu(adaptive_instance_norm(self.conv1(x), scale1, shift1))
        h = adaptive_instance_norm(self.conv2(h), scale2, shift2)
        return x + h


def reference_initialisation(module):
    """The reference's initialisation, in place: TF1 ``variance_scaling_initializer()``.

    Every conv and linear kernel is drawn from a normal distribution truncated at two
    standard deviations, stddev ``sqrt(1.3 * 2 / fan_in)`` (factor 2, FAN_IN, not
    uniform; 1.3 undoes the truncation's shrinkage), with zero biases. Normalisation
    layers keep scale 1 and offset 0.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            fan_in = layer.weight[0].numel()  # in_channels * kernel height * kernel width
            std = math.sqrt(1.3 * 2.0 / fan_in)
            nn.init.trunc_normal_(layer.weight, 0.0, std, -2 * std, 2 * std)
            nn.init.zeros_(layer.bias)


class AutoEncoder(nn.Module):
    """The network shared by G (``bottleneck=True``) and D (``bottleneck=False``).

    With the bottleneck, ``encode`` returns the latent z = [z_c, z_s] of shape
    (B, content_dim + style_dim). Without it (D), the content code is the feature map.
    """

    def __init__(self, config: ModelConfig, bottleneck: bool):
        super().__init__()
        self.config = config
        self.bottleneck = bottleneck
        w, c, size = config.width, config.channels, config.image_size
        inner = config.inner_width  # 4w in the reference (n_down = 2)
        self.feature_shape = (inner, config.feature_size, config.feature_size)  # (C, S/4, S/4) in the reference
        k_out, k_down, k_up = config.outer_kernel, config.down_kernel, config.up_kernel
        stages = [w * 2**i for i in range(config.n_down + 1)]  # w, 2w, 4w in the reference
        content = [conv(c, w, k_out), nn.ReLU(inplace=True)]
        for before, after in zip(stages, stages[1:]):
            content += [conv(before, after, k_down, 2), nn.ReLU(inplace=True)]
        self.content_encoder = nn.Sequential(*content, *[ResidualBlock(inner) for _ in range(config.n_residual)])
        # the style path always downsamples 4 times, its channels doubling up to the inner width
        style_widths = [min(w * 2**i, inner) for i in range(5)]  # w, 2w, 4w, 4w, 4w in the reference
        style = [conv(c, w, k_out), nn.ReLU(inplace=True)]
        for before, after in zip(style_widths, style_widths[1:]):
            style += [conv(before, after, k_down, 2), nn.ReLU(inplace=True)]
        self.style_encoder = nn.Sequential(*style, nn.AdaptiveAvgPool2d(1), nn.Conv2d(inner, config.style_dim, 1))
        n_features = inner * config.feature_size**2
        if bottleneck:
            self.to_content = nn.Linear(n_features, config.content_dim)
            self.from_content = nn.Linear(config.content_dim, n_features)
        self.blocks = nn.ModuleList(AdaINResidualBlock(inner) for _ in range(config.n_residual))
        # "shared": the reference's two heads (scale and shift, C each) as one linear layer of 2C
        # outputs; "per-norm": a (scale, shift) pair for each of the 2 * n_residual AdaINs
        n_adain = 2 * inner if config.adain == "shared" else 4 * inner * config.n_residual
        self.style_mlp = nn.Sequential(
            nn.Linear(config.style_dim, config.mlp_dim), nn.ReLU(inplace=True),
            nn.Linear(config.mlp_dim, config.mlp_dim), nn.ReLU(inplace=True),
            nn.Linear(config.mlp_dim, n_adain),
        )
        upsample = []
        for before, after in zip(stages[::-1], stages[-2::-1]):  # 4w -> 2w -> w in the reference
            upsample += [nn.Upsample(scale_factor=2, mode="nearest"), conv(before, after, k_up),
                         nn.GroupNorm(1, after), nn.ReLU(inplace=True)]
        self.upsample = nn.Sequential(*upsample, conv(w, c, k_out))
        if config.initialisation == "reference":
            reference_initialisation(self)

    def encode(self, x):
        """x: (B, C, S, S) in [0, 1] -> (z_c, z_s)."""
        content = self.content_encoder(x)  # (B, 4w, S/4, S/4)
        style = self.style_encoder(x).flatten(1)  # (B, style_dim)
        if self.bottleneck:
            content = self.to_content(content.flatten(1))  # (B, content_dim)
        return content, style

    def decode(self, content, style):
        return torch.sigmoid(self.decode_logits(content, style))  # (B, C, S, S) in [0, 1]

    def decode_logits(self, content, style):
        """The decoder's output before its sigmoid, (B, C, S, S): what a loss that must not vanish
        where the sigmoid saturates (a black background at logits of -10 and below) is computed on."""
        if self.bottleneck:
            content = self.from_content(content).view(-1, *self.feature_shape)
        h = content
        for block, parameters in zip(self.blocks, self.adain_parameters(style)):
            h = block(h, parameters)
        return self.upsample(h)

    def adain_parameters(self, style):
        """Per AdaIN block, (scale1, shift1, scale2, shift2), each of shape (B, inner width)."""
        inner = self.feature_shape[0]
        output = self.style_mlp(style)  # (B, 2 * 4w) shared, (B, n_residual * 4 * 4w) per-norm
        if self.config.adain == "shared":
            # the reference calls adaptive_instance_norm(x, mu, sigma) with signature
            # (content, gamma, beta): its head "mu" is the scale, "sigma" the shift
            scale, shift = output.split(inner, dim=1)
            return [(scale, shift, scale, shift)] * len(self.blocks)
        return [parameters.split(inner, dim=1) for parameters in output.split(4 * inner, dim=1)]

    def forward(self, x):
        return self.decode(*self.encode(x))


class Generator(AutoEncoder):
    """G: an autoencoder with a flat latent z = [z_c, z_s]."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, bottleneck=True)

    def encode_latent(self, x):
        """(B, C, S, S) -> (B, latent_dim)."""
        return torch.cat(self.encode(x), dim=1)

    def decode_latent(self, z):
        """(B, latent_dim) -> (B, C, S, S)."""
        content, style = z.split([self.config.content_dim, self.config.style_dim], dim=1)
        return self.decode(content, style)


class Discriminator(AutoEncoder):
    """D: G's network at reduced width, without the linear bottlenecks (BEGAN-style critic)."""

    def __init__(self, config: ModelConfig):
        super().__init__(config.discriminator, bottleneck=False)

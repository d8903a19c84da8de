"""The GAIA objective as plain functions of tensors (docs/design.md, section 2.2).

Nothing here knows about networks, so every term can be checked against numbers
computed by hand.

Balancing: the learning-rate factors, p_fake and p_i are computed from *detached*
loss values (Python floats). The authors' TensorFlow graph lets gradients flow
through them; here they act as per-step weights, the usual PyTorch reading, which
keeps the gradient of each loss the gradient of the terms it weighs.
"""

import math

import torch

__all__ = [
    "INTERPOLATION_MEAN",
    "INTERPOLATION_STD",
    "BALANCE_SLOPE",
    "interpolation_coefficients",
    "sample_interpolants",
    "l1",
    "squared_distances",
    "structure_loss",
    "sigmoid",
    "balance",
    "discriminator_loss",
    "generator_loss",
]

INTERPOLATION_MEAN = 0.5
INTERPOLATION_STD = 0.25
BALANCE_SLOPE = 20.0


def interpolation_coefficients(batch, generator=None):
    """The B coefficients ``[a1, a2]`` of one step, each ~ Normal(0.5, 0.25^2), float32 on the CPU."""
    coefficients = torch.randn(batch, generator=generator, device="cpu", dtype=torch.float32)
    return coefficients * INTERPOLATION_STD + INTERPOLATION_MEAN


def sample_interpolants(z, generator=None, coefficients=None):
    """B interpolated codes from a batch of B codes (B even).

    For i < B/2, with a1, a2 ~ Normal(0.5, 0.25^2), not clipped:
    ``mid1_i = a1_i z_i + (1 - a1_i) z_{B/2+i}`` and
    ``mid2_i = a2_i z_{B/2-1-i} + (1 - a2_i) z_{B/2+i}``.

    Parameters
    ----------
    z : Tensor of shape (B, D)
    generator : torch.Generator, optional
        Source of the coefficients (for reproducible runs).
    coefficients : Tensor of shape (B,), optional
        ``[a1, a2]`` drawn beforehand (by :func:`interpolation_coefficients`); ``generator``
        is then not used.

    Returns
    -------
    interpolants : Tensor of shape (B, D)
        ``[mid1, mid2]`` stacked.
    coefficients : Tensor of shape (B,)
        ``[a1, a2]``.
    """
    batch = z.shape[0]
    if batch < 2 or batch % 2:
        raise ValueError(f"interpolation needs an even batch of at least 2; got {batch}")
    half = batch // 2
    if coefficients is None:
        coefficients = interpolation_coefficients(batch, generator)
    if coefficients.shape != (batch,):
        raise ValueError(f"interpolation needs {batch} coefficients; got shape {tuple(coefficients.shape)}")
    coefficients = coefficients.to(z.device, z.dtype)
    a1, a2 = coefficients[:half, None], coefficients[half:, None]
    first, second = z[:half], z[half:]
    mid1 = a1 * first + (1 - a1) * second
    mid2 = a2 * first.flip(0) + (1 - a2) * second
    return torch.cat([mid1, mid2]), coefficients


def l1(a, b):
    """Mean absolute error over every element (pixels and batch)."""
    return (a - b).abs().mean()


def squared_distances(a):
    """sd_jk = mean_f (a_jf - a_kf)^2 for a batch flattened to (B, F) -> (B, B).

    Computed from the differences themselves (``cdist`` without the matrix-product
    shortcut, O(B^2 + B F) memory): the shortcut |a_j|^2 + |a_k|^2 - 2 a_j.a_k loses
    small distances to rounding (identical 64-px images came out up to 1e-6 apart),
    while here identical rows are exactly 0 apart.
    """
    flat = a.reshape(1, a.shape[0], -1)
    distances = torch.cdist(flat, flat, compute_mode="donot_use_mm_for_euclid_dist")[0]  # (B, B)
    return distances.pow(2) / flat.shape[2]


def structure_loss(x, z_content):
    """Distance-preserving loss: mean_jk [ln(1 + sdx_jk) - ln(1 + sdz_jk)]^2.

    Both distance matrices are divided by their mean over all B^2 entries, diagonal
    included. A matrix of zeros (a batch of identical images, or of identical codes)
    has no scale to divide by and stays zeros: for identical images the loss is then
    ``mean_jk ln(1 + sdz_jk)^2``, which is 0 when their codes coincide (as a
    deterministic encoder gives them), instead of the 0/0 = NaN of the formula.
    """

    def normalised(distances):
        mean = distances.mean()
        return distances / torch.where(mean > 0, mean, torch.ones_like(mean))

    sdx = normalised(squared_distances(x))
    sdz = normalised(squared_distances(z_content))
    return (torch.log1p(sdx) - torch.log1p(sdz)).pow(2).mean()


def sigmoid(d, slope=BALANCE_SLOPE):
    """Zero-centred sigmoid s(d) = 1 / (1 + exp(-b d)), on floats."""
    argument = -slope * d
    if argument > 700:  # exp overflows a double; the limit is exact here
        return 0.0
    return 1.0 / (1.0 + math.exp(argument))


def balance(loss_x, loss_gx, loss_gi, lr_max, slope=BALANCE_SLOPE):
    """Learning rates of D and G, p_fake and p_i from the (detached) loss values.

    ``lr_D = lr_max s(L_X - L_fake)``, ``lr_G = lr_max (1 - s(L_X - L_fake))``,
    ``p_fake = clip(s(0.5 L_Gi - L_X), 0, 0.9)``, ``p_i = clip(s(L_Gi - L_GX), 0, 1)``,
    with ``L_fake = (L_GX + L_Gi) / 2``.
    """
    loss_x, loss_gx, loss_gi = float(loss_x), float(loss_gx), float(loss_gi)
    loss_fake = (loss_gx + loss_gi) / 2
    share_d = sigmoid(loss_x - loss_fake, slope)
    return {
        "lr_d": lr_max * share_d,
        "lr_g": lr_max * (1.0 - share_d),
        "p_fake": min(max(sigmoid(0.5 * loss_gi - loss_x, slope), 0.0), 0.9),
        "p_i": min(max(sigmoid(loss_gi - loss_gx, slope), 0.0), 1.0),
    }


def discriminator_loss(loss_x, loss_fake, p_fake):
    """L_D = clip(L_X - p_fake L_fake, -1, 1)."""
    return torch.clamp(loss_x - p_fake * loss_fake, -1.0, 1.0)


def generator_loss(loss_gi, loss_gx, loss_dist, p_i, alpha):
    """L_G = clip(p_i L_Gi + (1 - p_i) L_GX + alpha L_dist, -1, 1)."""
    return torch.clamp(p_i * loss_gi + (1 - p_i) * loss_gx + alpha * loss_dist, -1.0, 1.0)

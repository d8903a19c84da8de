"""One GAIA training step's losses, from networks and a batch.

Ablations (docs/design.md, section 2.2):

``none``
    The full objective.
``ae``
    A plain autoencoder: G minimises ``|X - G(X)|``; no discriminator, no
    interpolation, no structure term; G's learning rate is ``lr_max``.
``no-interp``
    No interpolants are decoded: ``L_Gi`` is replaced by ``L_GX`` in every formula,
    so ``L_fake = L_GX`` and ``L_G = L_GX + alpha L_dist``.
``no-structure``
    ``alpha = 0`` (``L_dist`` is still computed and logged).

Warm-up (``warmup=True``, the first ``--warmup-steps`` steps of a run; 0 by default):
G minimises ``|X - G(X)|`` and D minimises ``L_X``, both at ``lr_max``. G learns to
reconstruct only *through* D in the GAIA objective (``L_GX = |X - D(G(X))|``), so from
random networks it first has to wait for D to become a usable autoencoder; starting
both as plain autoencoders gets a CPU-sized training budget to useful models much
sooner. After the warm-up the objective is exactly GAIA's.

Warm-up cross-entropy (``warmup_bce``, 0 by default): during the warm-up G's loss gains
``warmup_bce * BCE(logits, X)``, the binary cross-entropy of G's output *logits* (before its
sigmoid) against X. Its gradient with respect to a logit is ``sigmoid(logit) - x``, which does not
vanish where the sigmoid saturates; the L1 term's gradient is multiplied by the sigmoid's slope,
which does. On sparse images (thin white strokes on black) an L1-only warm-up drives every output
logit to -10 and below within a few hundred steps, where the stroke pixels' gradient is ~1e-5 of
its size, and G decodes every image to black for good (docs/training.md). Only the warm-up uses it;
the GAIA objective after it is unchanged.

Reconstruction weight (``recon_weight``, 0 by default, i.e. the reference objective): G's
loss gains ``recon_weight * |X - G(X)|`` outside the clip. In the reference G learns to
reconstruct only through D's reconstruction of G(X); the direct term keeps G's own
reconstructions sharp while the interpolation term shapes the space between codes. It is a
deliberate deviation from the reference (docs/training.md measures what it buys).
"""

import torch

from gaia_stim.model import losses
from gaia_stim.model.recipes import ABLATIONS

__all__ = ["gaia_losses"]


def gaia_losses(generator, discriminator, x, *, ablation="none", alpha=5e-5, lr_max=1e-4, coefficients=None,
                warmup=False, warmup_bce=0.0, recon_weight=0.0, gather=None):
    """Every loss term of one step.

    Parameters
    ----------
    generator, discriminator : Generator, Discriminator
    x : Tensor of shape (B, C, S, S) in [0, 1], B even
    ablation : {"none", "ae", "no-interp", "no-structure"}
    alpha : float
        Weight of the structure loss.
    lr_max : float
        Scale of the balanced learning rates.
    coefficients : torch.Generator or Tensor of shape (B,), optional
        Source of the interpolation coefficients, or the coefficients ``[a1, a2]`` themselves.
    warmup : bool, default=False
        Plain autoencoder losses for both networks (see the module docstring).
    warmup_bce : float, default=0.0
        Weight of the warm-up's cross-entropy term on G's logits (see the module docstring); used
        only when ``warmup`` is true.
    recon_weight : float, default=0.0
        Weight of G's direct reconstruction term (see the module docstring; not used by the
        ``ae`` ablation or the warm-up, whose G loss is that term alone).
    gather : callable, optional
        Maps a tensor of this process's images (b, ...) to that of the whole batch (B, ...);
        every loss is computed on its output. Data-parallel training passes
        :meth:`gaia_stim.model.distributed.World.gather`; by default the batch is all there is.

    Returns
    -------
    dict
        ``loss_d`` and ``loss_g`` (tensors to minimise; ``loss_d`` is None for ``ae``),
        the float terms ``loss_x, loss_gx, loss_gi, loss_fake, loss_dist,
        reconstruction`` (``|X - G(X)|``), the balance ``lr_d, lr_g, p_fake, p_i``, and
        ``reconstructions`` (G(X), detached).
    """
    if ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; choose one of {', '.join(ABLATIONS)}")
    batch = x.shape[0]

    def whole(tensor):  # losses in float32 (under autocast too), on the whole batch
        tensor = tensor.float()
        return tensor if gather is None else gather(tensor)

    content, style = generator.encode(x)
    z = torch.cat([content, style], dim=1)  # (B, latent_dim)

    if ablation == "ae" or warmup:
        logits = generator.decode_logits(content, style)
        x_generated = torch.sigmoid(logits)
        reconstruction = losses.l1(whole(x), whole(x_generated))
        loss_g = reconstruction
        if warmup and warmup_bce:
            loss_g = loss_g + warmup_bce * torch.nn.functional.binary_cross_entropy_with_logits(
                whole(logits), whole(x))
        nan = float("nan")
        loss_x = losses.l1(whole(x), whole(discriminator(x))) if ablation != "ae" else None
        return {
            "loss_d": loss_x,
            "loss_g": loss_g,
            "reconstruction": reconstruction.item(),
            "loss_x": nan if loss_x is None else loss_x.item(), "loss_gx": nan, "loss_gi": nan,
            "loss_fake": nan, "loss_dist": nan, "loss_d_value": nan if loss_x is None else loss_x.item(),
            "lr_d": 0.0 if loss_x is None else lr_max, "lr_g": lr_max, "p_fake": nan, "p_i": nan,
            "reconstructions": x_generated.detach(),
        }

    interpolate = ablation != "no-interp"
    if interpolate:
        if torch.is_tensor(coefficients):
            z_interpolated, _ = losses.sample_interpolants(z, coefficients=coefficients)
        else:
            z_interpolated, _ = losses.sample_interpolants(z, coefficients)
        decoded = generator.decode_latent(torch.cat([z, z_interpolated]))  # (2B, C, S, S)
        x_generated, x_interpolated = decoded[:batch], decoded[batch:]
        critic_input = torch.cat([x, decoded])  # real, G(X), G(Z_i): one pass through D
    else:
        x_generated = generator.decode(content, style)
        critic_input = torch.cat([x, x_generated])
    critic_output = discriminator(critic_input)

    x_whole = whole(x)
    loss_x = losses.l1(x_whole, whole(critic_output[:batch]))
    loss_gx = losses.l1(x_whole, whole(critic_output[batch : 2 * batch]))  # against X, not G(X)
    if interpolate:
        loss_gi = losses.l1(whole(x_interpolated), whole(critic_output[2 * batch :]))
    else:
        loss_gi = loss_gx
    loss_fake = (loss_gx + loss_gi) / 2
    loss_dist = losses.structure_loss(x_whole, whole(content))

    balance = losses.balance(loss_x.item(), loss_gx.item(), loss_gi.item(), lr_max)
    structure_weight = 0.0 if ablation == "no-structure" else alpha
    loss_d = losses.discriminator_loss(loss_x, loss_fake, balance["p_fake"])
    loss_g = losses.generator_loss(loss_gi, loss_gx, loss_dist, balance["p_i"], structure_weight)
    if recon_weight:
        reconstruction = losses.l1(x_whole, whole(x_generated))
        loss_g = loss_g + recon_weight * reconstruction
    else:
        with torch.no_grad():
            reconstruction = losses.l1(x_whole, whole(x_generated))
    return {
        "loss_d": loss_d,
        "loss_g": loss_g,
        "reconstruction": reconstruction.item(),
        "loss_x": loss_x.item(),
        "loss_gx": loss_gx.item(),
        "loss_gi": loss_gi.item(),
        "loss_fake": loss_fake.item(),
        "loss_dist": loss_dist.item(),
        "loss_d_value": loss_d.item(),
        **balance,
        "reconstructions": x_generated.detach(),
    }

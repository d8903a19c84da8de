"""One step's loss terms from networks whose outputs are known, so each target can be checked by hand."""

import pytest
import torch
from torch import nn

from gaia_stim.model import losses
from gaia_stim.model.objective import gaia_losses


class StubGenerator(nn.Module):
    """Images of 1x1x2 pixels: z_c = the pixels squared, z_s = their sum; G(z) = z_c / 2 + 1/4."""

    def encode(self, x):
        flat = x.flatten(1)  # (B, 2)
        return flat**2, flat.sum(dim=1, keepdim=True)

    def decode(self, content, style):
        return (content / 2 + 0.25).view(-1, 1, 1, 2)

    def decode_logits(self, content, style):  # the logits whose sigmoid is decode's output
        return torch.logit(self.decode(content, style))

    def decode_latent(self, z):
        return self.decode(z[:, :2], z[:, 2:])


class StubDiscriminator(nn.Module):
    """D(y) = 1 - y."""

    def forward(self, y):
        return 1 - y


# x in {0, 0.25, 0.5, 0.75, 1}; G(E(x)) = x^2 / 2 + 1/4
X = torch.tensor([[0.0, 1.0], [0.5, 0.5], [1.0, 1.0], [0.5, 0.0]]).view(4, 1, 1, 2)
# L_X = mean |x - (1 - x)| = mean |2x - 1| = (1 + 1 + 0 + 0 + 1 + 1 + 0 + 1) / 8
LOSS_X = 5 / 8
# G(X) = 1/4, 3/4 | 3/8, 3/8 | 3/4, 3/4 | 3/8, 1/4;  D(G(X)) = 1 - G(X)
# L_GX = mean |x - 1 + G(X)| = (3/4 + 3/4 + 1/8 + 1/8 + 3/4 + 3/4 + 1/8 + 3/4) / 8 = 33/64
LOSS_GX = 33 / 64  # against G(X) instead of X: mean |2 G(X) - 1| = 13/32
# |X - G(X)| = (1/4 + 1/4 + 1/8 + 1/8 + 1/4 + 1/4 + 1/8 + 1/4) / 8 = 13/64
RECONSTRUCTION = 13 / 64
SEED = 5


def interpolated_content():
    """The interpolants' z_c, paired by hand from the coefficients the step draws."""
    content = X.flatten(1) ** 2
    _, coefficients = losses.sample_interpolants(torch.zeros(4, 3), torch.Generator().manual_seed(SEED))
    a1, a2 = coefficients[:2, None], coefficients[2:, None]
    mid1 = a1 * content[[0, 1]] + (1 - a1) * content[[2, 3]]
    mid2 = a2 * content[[1, 0]] + (1 - a2) * content[[2, 3]]
    return torch.cat([mid1, mid2])


def terms_of(**options):
    coefficients = torch.Generator().manual_seed(SEED)
    return gaia_losses(StubGenerator(), StubDiscriminator(), X, alpha=0.1, lr_max=1.0, coefficients=coefficients,
                       **options)


def test_every_term_of_the_full_objective():
    terms = terms_of()
    decoded = interpolated_content() / 2 + 0.25  # G(Z_i)
    loss_gi = (decoded - (1 - decoded)).abs().mean().item()  # |G(Z_i) - D(G(Z_i))|
    assert terms["loss_x"] == pytest.approx(LOSS_X)
    assert terms["loss_gx"] == pytest.approx(LOSS_GX)
    assert terms["loss_gi"] == pytest.approx(loss_gi)
    assert terms["loss_fake"] == pytest.approx((LOSS_GX + loss_gi) / 2)
    assert terms["reconstruction"] == pytest.approx(RECONSTRUCTION)
    torch.testing.assert_close(terms["reconstructions"], X**2 / 2 + 0.25)
    loss_dist = losses.structure_loss(X, X.flatten(1) ** 2).item()  # on the images and z_c
    assert loss_dist > 0.01 and terms["loss_dist"] == pytest.approx(loss_dist)
    balance = losses.balance(LOSS_X, LOSS_GX, loss_gi, lr_max=1.0)
    for name in ("lr_d", "lr_g", "p_fake", "p_i"):
        assert terms[name] == pytest.approx(balance[name]), name
    assert terms["loss_d"].item() == pytest.approx(LOSS_X - balance["p_fake"] * (LOSS_GX + loss_gi) / 2)
    expected_g = balance["p_i"] * loss_gi + (1 - balance["p_i"]) * LOSS_GX + 0.1 * loss_dist
    assert terms["loss_g"].item() == pytest.approx(expected_g)


def test_interpolants_are_judged_against_their_own_decoding():
    # the stub's numbers must tell the right target from the wrong one
    decoded = interpolated_content() / 2 + 0.25
    right = (decoded - (1 - decoded)).abs().mean().item()
    wrong = (X.flatten(1) - (1 - decoded)).abs().mean().item()  # |X - D(G(Z_i))|
    assert abs(right - wrong) > 0.05
    assert terms_of()["loss_gi"] == pytest.approx(right)


def test_ablations_by_hand():
    no_interp = terms_of(ablation="no-interp")
    assert no_interp["loss_gi"] == no_interp["loss_gx"] == pytest.approx(LOSS_GX)
    assert no_interp["p_i"] == 0.5  # s(L_GX - L_GX)
    assert no_interp["loss_g"].item() == pytest.approx(LOSS_GX + 0.1 * no_interp["loss_dist"])
    no_structure = terms_of(ablation="no-structure")
    p_i = no_structure["p_i"]
    assert no_structure["loss_g"].item() == pytest.approx(p_i * no_structure["loss_gi"] + (1 - p_i) * LOSS_GX)
    assert no_structure["loss_dist"] == pytest.approx(terms_of()["loss_dist"])  # still computed
    ae = terms_of(ablation="ae")
    assert ae["loss_d"] is None and ae["loss_g"].item() == pytest.approx(RECONSTRUCTION)
    assert (ae["lr_g"], ae["lr_d"]) == (1.0, 0.0)
    warmup = terms_of(warmup=True)
    assert warmup["loss_d"].item() == pytest.approx(LOSS_X) and warmup["loss_g"].item() == pytest.approx(RECONSTRUCTION)
    assert warmup["lr_g"] == warmup["lr_d"] == 1.0

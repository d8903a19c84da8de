"""The GAIA objective against numbers computed by hand."""

import math

import pytest
import torch

from gaia_stim.model import losses


def test_l1_is_mean_absolute_error():
    a = torch.tensor([[0.0, 1.0], [0.25, 0.5]])
    b = torch.tensor([[0.5, 0.5], [0.25, 1.0]])
    assert losses.l1(a, b).item() == pytest.approx((0.5 + 0.5 + 0 + 0.5) / 4)


def test_interpolants_follow_the_two_pairings():
    batch, dim = 6, 3
    z = torch.arange(batch * dim, dtype=torch.float32).reshape(batch, dim) ** 1.5
    generator = torch.Generator().manual_seed(3)
    mids, coefficients = losses.sample_interpolants(z, generator)
    assert mids.shape == (batch, dim) and coefficients.shape == (batch,)
    half = batch // 2
    for i in range(half):
        a1, a2 = coefficients[i].item(), coefficients[half + i].item()
        expected1 = a1 * z[i] + (1 - a1) * z[half + i]
        expected2 = a2 * z[half - 1 - i] + (1 - a2) * z[half + i]
        torch.testing.assert_close(mids[i], expected1)
        torch.testing.assert_close(mids[half + i], expected2)


def test_interpolants_are_reproducible_with_a_generator():
    z = torch.randn(8, 4)
    first, _ = losses.sample_interpolants(z, torch.Generator().manual_seed(11))
    second, _ = losses.sample_interpolants(z, torch.Generator().manual_seed(11))
    assert torch.equal(first, second)


def test_interpolation_coefficients_are_normal_and_unclipped():
    z = torch.zeros(200_000, 1)
    _, coefficients = losses.sample_interpolants(z, torch.Generator().manual_seed(0))
    assert coefficients.mean().item() == pytest.approx(0.5, abs=0.003)
    assert coefficients.std().item() == pytest.approx(0.25, abs=0.003)
    outside = ((coefficients < 0) | (coefficients > 1)).float().mean().item()
    # P(|N(0.5, 0.25^2) - 0.5| > 0.5) = 2 * (1 - Phi(2)) = 0.0455
    assert outside == pytest.approx(0.0455, abs=0.002)


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_interpolants_need_an_even_batch(batch):
    with pytest.raises(ValueError, match="even batch"):
        losses.sample_interpolants(torch.zeros(batch, 2))


def test_squared_distances_by_hand():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    expected = torch.tensor([[0, 0.5, 2.0], [0.5, 0, 2.5], [2.0, 2.5, 0]])
    torch.testing.assert_close(losses.squared_distances(a), expected)


def test_structure_loss_by_hand():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.0], [1.0], [3.0]])
    sdx = {(0, 1): 0.5, (0, 2): 2.0, (1, 2): 2.5}  # mean_f of squared differences
    sdz = {(0, 1): 1.0, (0, 2): 9.0, (1, 2): 4.0}
    mean_x = 2 * sum(sdx.values()) / 9  # over all 9 entries, zero diagonal included
    mean_z = 2 * sum(sdz.values()) / 9
    total = 0.0
    for pair in sdx:
        total += 2 * (math.log(1 + sdx[pair] / mean_x) - math.log(1 + sdz[pair] / mean_z)) ** 2
    assert losses.structure_loss(x, z).item() == pytest.approx(total / 9, rel=1e-5)


def test_squared_distances_of_images_by_hand_and_exact_for_duplicates():
    # two 1x2x2 images and a copy of the first: F = 4 values per image
    first = [[[0.0, 0.5], [1.0, 0.25]]]
    second = [[[1.0, 0.5], [0.0, 0.75]]]
    images = torch.tensor([first, second, first])
    d = (1 + 0 + 1 + 0.25) / 4  # (0-1)^2 + 0 + (1-0)^2 + (0.25-0.75)^2, over F
    expected = torch.tensor([[0, d, 0], [d, 0, d], [0, d, 0]])
    torch.testing.assert_close(losses.squared_distances(images), expected)
    # identical rows are exactly 0 apart at any size, not rounding noise
    batch = torch.rand(1, 3, 64, 64).expand(8, 3, 64, 64)
    assert torch.count_nonzero(losses.squared_distances(batch)) == 0


def test_structure_loss_of_identical_images_is_finite_and_documented():
    x = torch.rand(1, 3, 16, 16).expand(3, 3, 16, 16).contiguous().requires_grad_()
    z = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    # sd(X) is all zeros and stays zeros; sdz as in test_structure_loss_by_hand: 1, 9, 4 off the
    # diagonal, mean 2 * 14 / 9 = 28 / 9, so the normalised distances are 9/28, 81/28 and 36/28
    expected = 2 * sum(math.log(1 + value / 28) ** 2 for value in (9, 81, 36)) / 9
    value = losses.structure_loss(x, z)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(z.grad).all()
    # identical images with identical codes (what a deterministic encoder gives): nothing to preserve
    same_code = torch.tensor([[2.0], [2.0], [2.0]], requires_grad=True)
    value = losses.structure_loss(x, same_code)
    assert value.item() == 0.0
    value.backward()
    assert torch.count_nonzero(same_code.grad) == 0


def test_structure_loss_is_zero_for_proportional_distances():
    x = torch.randn(6, 10)
    assert losses.structure_loss(x, 3.0 * x).item() == pytest.approx(0.0, abs=1e-6)


def test_structure_loss_is_finite_for_a_collapsed_code():
    value = losses.structure_loss(torch.randn(4, 5), torch.zeros(4, 3))
    assert math.isfinite(value.item())


def test_balance_by_hand():
    lr_max = 1e-4
    result = losses.balance(loss_x=0.1, loss_gx=0.12, loss_gi=0.2, lr_max=lr_max)
    # L_fake = 0.16; s(0.1 - 0.16) = 1 / (1 + e^{1.2})
    share_d = 1 / (1 + math.exp(1.2))
    assert result["lr_d"] == pytest.approx(lr_max * share_d)
    assert result["lr_g"] == pytest.approx(lr_max * (1 - share_d))
    assert result["lr_d"] + result["lr_g"] == pytest.approx(lr_max)
    assert result["p_fake"] == pytest.approx(0.5)  # s(0.5 * 0.2 - 0.1) = s(0)
    assert result["p_i"] == pytest.approx(1 / (1 + math.exp(-20 * 0.08)))


def test_balance_when_d_reconstructs_real_images_worse():
    result = losses.balance(loss_x=0.3, loss_gx=0.1, loss_gi=0.2, lr_max=1.0)
    # L_fake = 0.15: s(0.3 - 0.15) = 1 / (1 + e^{-3}) of lr_max goes to D
    assert result["lr_d"] == pytest.approx(1 / (1 + math.exp(-3)))
    assert result["lr_g"] == pytest.approx(1 - 1 / (1 + math.exp(-3)))
    assert result["p_fake"] == pytest.approx(1 / (1 + math.exp(4)))  # s(0.5 * 0.2 - 0.3) = s(-0.2)
    assert result["p_i"] == pytest.approx(1 / (1 + math.exp(-2)))  # s(0.2 - 0.1)


def test_balance_clips_p_fake_at_0_9():
    result = losses.balance(loss_x=0.0, loss_gx=0.5, loss_gi=1.0, lr_max=1.0)
    assert result["p_fake"] == 0.9
    assert result["p_i"] == pytest.approx(1 / (1 + math.exp(-10)))


def test_sigmoid_is_zero_centred_with_slope_20():
    assert losses.sigmoid(0.0) == 0.5
    assert losses.sigmoid(0.05) == pytest.approx(1 / (1 + math.exp(-1)))
    assert losses.sigmoid(-100.0) == 0.0  # no overflow


def test_discriminator_and_generator_losses_by_hand_and_clipped():
    t = torch.tensor
    assert losses.discriminator_loss(t(0.3), t(0.2), 0.5).item() == pytest.approx(0.2)
    assert losses.discriminator_loss(t(0.0), t(5.0), 0.9).item() == -1.0
    assert losses.discriminator_loss(t(3.0), t(1.0), 0.5).item() == 1.0  # 2.5, clipped
    assert losses.discriminator_loss(t(0.5), t(0.25), 0.0).item() == pytest.approx(0.5)
    value = losses.generator_loss(t(0.2), t(0.4), t(2.0), 0.25, 0.1)
    assert value.item() == pytest.approx(0.25 * 0.2 + 0.75 * 0.4 + 0.1 * 2.0)
    assert losses.generator_loss(t(3.0), t(3.0), t(0.0), 0.5, 0.0).item() == 1.0
    assert losses.generator_loss(t(0.0), t(0.0), t(-30.0), 0.5, 0.1).item() == -1.0  # -3, clipped
    # p_i weighs L_Gi, 1 - p_i weighs L_GX
    assert losses.generator_loss(t(0.2), t(0.4), t(0.0), 1.0, 0.1).item() == pytest.approx(0.2)
    assert losses.generator_loss(t(0.2), t(0.4), t(0.0), 0.0, 0.1).item() == pytest.approx(0.4)

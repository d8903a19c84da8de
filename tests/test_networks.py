"""Network shapes, parameter counts, normalisations and initialisation, against the reference."""

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from gaia_stim.core.errors import InputError
from gaia_stim.model import (
    PRESETS,
    Discriminator,
    Generator,
    ModelConfig,
    count_parameters,
    preset_config,
)
from gaia_stim.model.config import LEGACY
from gaia_stim.model.networks import adaptive_instance_norm


def conv(k, cin, cout):
    return k * k * cin * cout + cout


def expected_parameters(config, bottleneck, width, style_dim, mlp_dim):
    """Parameter count written out from the description in docs/design.md, section 2.1.

    AdaIN "shared" is the reference's MLP with two heads of C outputs each (scale, shift),
    used by every AdaIN; "per-norm" predicts a pair for each of the 2 * n AdaINs.
    """
    c, w, n = config.channels, width, config.n_residual
    k_out, k_down, k_up = config.outer_kernel, config.down_kernel, config.up_kernel
    stages = [w * 2**i for i in range(config.n_down + 1)]  # w, 2w, 4w for the reference's two stages
    inner = stages[-1]
    features = inner * (config.image_size // 2**config.n_down) ** 2
    content = conv(k_out, c, w) + sum(conv(k_down, a, b) for a, b in zip(stages, stages[1:]))
    content += n * (2 * conv(3, inner, inner) + 2 * 2 * inner)  # two convs, two affine InstanceNorms
    style_widths = [min(w * 2**i, inner) for i in range(5)]  # four stride-2 convs, capped at the inner width
    style = conv(k_out, c, w) + sum(conv(k_down, a, b) for a, b in zip(style_widths, style_widths[1:]))
    style += conv(1, inner, style_dim)
    decoder = n * 2 * conv(3, inner, inner)
    n_adain = 2 * inner if config.adain == "shared" else n * 2 * 2 * inner
    decoder += (style_dim * mlp_dim + mlp_dim) + (mlp_dim * mlp_dim + mlp_dim) + (mlp_dim * n_adain + n_adain)
    decoder += sum(conv(k_up, a, b) + 2 * b for a, b in zip(stages[::-1], stages[-2::-1])) + conv(k_out, w, c)
    linear = 0
    if bottleneck:
        linear = (features * config.content_dim + config.content_dim) + (config.content_dim * features + features)
    return content + style + decoder + linear


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("legacy", [False, True])
def test_parameter_counts_match_the_architecture(preset, channels, legacy):
    config = preset_config(preset, channels=channels)
    if legacy:
        config = replace(config, **LEGACY)
    with torch.device("meta"):  # the paper preset's 270M parameters need no memory here
        generator, discriminator = Generator(config), Discriminator(config)
    assert count_parameters(generator) == expected_parameters(
        config, True, config.width, config.style_dim, config.mlp_dim
    )
    d = config.discriminator
    assert d.width == config.width // 2 and d.mlp_dim == config.mlp_dim // 2
    # the reference keeps D's style code at G's size; legacy gaia-stim halved it
    assert d.style_dim == (config.style_dim // 2 if legacy else config.style_dim)
    assert count_parameters(discriminator) == expected_parameters(config, False, d.width, d.style_dim, d.mlp_dim)
    assert not hasattr(discriminator, "to_content") and not hasattr(discriminator, "from_content")


def test_paper_linear_layers_hold_about_134m_parameters_each():
    with torch.device("meta"):
        generator = Generator(PRESETS["paper"])
    to_content = count_parameters(generator.to_content)
    from_content = count_parameters(generator.from_content)
    assert to_content == 32 * 32 * 256 * 512 + 512  # 134,218,240
    assert from_content == 512 * 32 * 32 * 256 + 32 * 32 * 256  # 134,479,872
    assert 134e6 < to_content < 135e6 and 134e6 < from_content < 135e6
    assert PRESETS["paper"].latent_dim == 1024


@pytest.mark.parametrize("preset", ["tiny", "small"])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes(preset, channels):
    torch.manual_seed(0)
    config = preset_config(preset, channels=channels)
    generator, discriminator = Generator(config), Discriminator(config)
    x = torch.rand(2, channels, config.image_size, config.image_size)
    content, style = generator.encode(x)
    assert content.shape == (2, config.content_dim) and style.shape == (2, config.style_dim)
    z = generator.encode_latent(x)
    assert z.shape == (2, config.latent_dim)
    out = generator.decode_latent(z)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    d_content, d_style = discriminator.encode(x)
    size = config.image_size // 4
    assert d_content.shape == (2, 4 * config.discriminator.width, size, size)  # a feature map, no bottleneck
    assert d_style.shape == (2, config.discriminator.style_dim)
    assert discriminator(x).shape == x.shape


def test_paper_preset_shapes_on_the_meta_device():
    config = PRESETS["paper"]
    with torch.device("meta"):
        generator = Generator(config)
        x = torch.empty(2, 3, 128, 128)
        content, style = generator.encode(x)
        assert content.shape == (2, 512) and style.shape == (2, 512)
        assert generator.decode(content, style).shape == (2, 3, 128, 128)
        assert generator.content_encoder(x).shape == (2, 256, 32, 32)


@pytest.mark.parametrize(
    "changes, message",
    [({"channels": 2}, "channels"), ({"image_size": 40}, "multiple of 16"), ({"width": 0}, "width")],
)
def test_invalid_configurations_are_refused(changes, message):
    with pytest.raises(InputError, match=message):
        ModelConfig(**changes)


def test_unknown_preset_names_the_choices():
    with pytest.raises(InputError, match="choose one of .*tiny"):
        preset_config("huge")


def test_paper_preset_is_the_reference_network():
    config = PRESETS["paper"]
    assert (config.adain, config.discriminator_style_ratio, config.initialisation) == ("shared", 1.0, "reference")
    assert config.discriminator.style_dim == 512 and config.discriminator.mlp_dim == 128
    with torch.device("meta"):
        generator, discriminator = Generator(config), Discriminator(config)
    # the MLP on z_s: 512 -> 256 -> 256 -> two heads of 256 (scale and shift); D's at 128
    assert [layer.out_features for layer in generator.style_mlp if isinstance(layer, nn.Linear)] == [256, 256, 512]
    assert [layer.out_features for layer in discriminator.style_mlp if isinstance(layer, nn.Linear)] == [128, 128, 256]
    assert discriminator.style_encoder[-1].out_channels == 512  # D's style code at G's size


def test_configurations_without_the_reference_fields_load_as_legacy():
    # model files written before these fields existed (the first default model, sha256 77fa5515fe58...)
    stored = {k: v for k, v in PRESETS["small"].to_dict().items() if k not in LEGACY}
    config = ModelConfig.from_dict(stored)
    assert (config.adain, config.discriminator_style_ratio, config.initialisation) == ("per-norm", 0.5, "pytorch")
    assert ModelConfig.from_dict(PRESETS["small"].to_dict()) == PRESETS["small"]


@pytest.mark.parametrize(
    "field, value", [("adain", "per-block"), ("initialisation", "xavier"), ("discriminator_style_ratio", 0.0)]
)
def test_invalid_reference_choices_are_refused(field, value):
    with pytest.raises(InputError, match=field):
        ModelConfig(**{field: value})


def test_shared_adain_uses_one_scale_and_shift_everywhere():
    torch.manual_seed(0)
    config = replace(preset_config("tiny"), n_residual=3)
    generator = Generator(config)
    style = torch.randn(2, config.style_dim)
    head = generator.style_mlp(style)  # (B, 2 * 4w): [scale | shift]
    per_block = generator.adain_parameters(style)
    assert len(per_block) == 3
    for scale1, shift1, scale2, shift2 in per_block:
        torch.testing.assert_close(scale1, head[:, :32], rtol=0, atol=0)
        torch.testing.assert_close(shift1, head[:, 32:], rtol=0, atol=0)
        assert scale2 is scale1 and shift2 is shift1
    legacy = Generator(replace(config, adain="per-norm"))
    pairs = [p for block in legacy.adain_parameters(style) for p in block]
    assert len(pairs) == 12 and len({id(p) for p in pairs}) == 12  # one (scale, shift) per AdaIN


def test_adaptive_instance_norm_by_hand():
    # channel 0 holds 0, 2, 4, 6: mean 3, biased variance (9 + 1 + 1 + 9) / 4 = 5
    # channel 1 holds 1, 1, 1, 5: mean 2, variance (1 + 1 + 1 + 9) / 4 = 3
    x = torch.tensor([[[[0.0, 2.0], [4.0, 6.0]], [[1.0, 1.0], [1.0, 5.0]]]])
    scale, shift = torch.tensor([[2.0, -1.0]]), torch.tensor([[0.5, 3.0]])
    out = adaptive_instance_norm(x, scale, shift)
    root5, root3 = math.sqrt(5 + 1e-5), math.sqrt(3 + 1e-5)
    expected = torch.tensor([[
        [[2 * -3 / root5 + 0.5, 2 * -1 / root5 + 0.5], [2 * 1 / root5 + 0.5, 2 * 3 / root5 + 0.5]],
        [[-1 * -1 / root3 + 3, -1 * -1 / root3 + 3], [-1 * -1 / root3 + 3, -1 * 3 / root3 + 3]],
    ]])
    torch.testing.assert_close(out, expected)


def layer_norm_by_hand(x, weight, bias, eps=1e-5):
    """Per image, mean and biased variance over C, H, W; then a per-channel affine."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(1, 2, 3), keepdim=True)
    return weight[None, :, None, None] * (x - mean) / torch.sqrt(var + eps) + bias[None, :, None, None]


@pytest.mark.parametrize("network", [Generator, Discriminator])
def test_upsampling_stages_use_layer_norm_over_channels_and_pixels(network):
    config = ModelConfig(image_size=16, width=4, n_residual=1, content_dim=4, style_dim=4, mlp_dim=4)
    norms = [layer for layer in network(config).upsample if "Norm" in type(layer).__name__]
    assert len(norms) == 2
    for norm in norms:
        channels = norm.weight.shape[0]
        # each channel constant but for one pixel, channels at different levels: per-channel statistics
        # (instance norm) and per-image statistics (layer norm) give different numbers
        x = torch.arange(channels, dtype=torch.float32)[None, :, None, None].repeat(2, 1, 3, 3)
        x[:, :, 0, 0] += torch.tensor([[1.0], [-2.0]])
        with torch.no_grad():
            norm.weight.copy_(torch.linspace(0.5, 2.0, channels))
            norm.bias.copy_(torch.linspace(-1.0, 1.0, channels))
            torch.testing.assert_close(norm(x), layer_norm_by_hand(x, norm.weight, norm.bias))


def test_decoder_layer_norm_by_hand_on_two_channels():
    config = ModelConfig(image_size=16, width=2, n_residual=1, content_dim=4, style_dim=4, mlp_dim=4)
    norm = [layer for layer in Generator(config).upsample if "Norm" in type(layer).__name__][-1]  # 2 channels
    # channel 0: 0, 0, 2, 2 and channel 1: 4, 4, 6, 6 -> mean 3, variance (9+9+1+1+1+1+9+9) / 8 = 5
    # (instance norm would give -1, -1, 1, 1 in both channels)
    x = torch.tensor([[[[0.0, 0.0], [2.0, 2.0]], [[4.0, 4.0], [6.0, 6.0]]]])
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([2.0, 3.0]))
        norm.bias.copy_(torch.tensor([0.5, -1.0]))
        out = norm(x)
    root5 = math.sqrt(5 + 1e-5)
    expected = torch.tensor([[
        [[2 * -3 / root5 + 0.5, 2 * -3 / root5 + 0.5], [2 * -1 / root5 + 0.5, 2 * -1 / root5 + 0.5]],
        [[3 * 1 / root5 - 1, 3 * 1 / root5 - 1], [3 * 3 / root5 - 1, 3 * 3 / root5 - 1]],
    ]])
    torch.testing.assert_close(out, expected)


def test_reference_initialisation_is_tf1_variance_scaling():
    torch.manual_seed(0)
    generator = Generator(preset_config("tiny"))
    # N(0, s^2) truncated at +-2s has variance 0.77374 s^2 (1 - 4 phi(2) / (2 Phi(2) - 1)); with
    # s^2 = 1.3 * 2 / fan_in the weights' standard deviation is sqrt(2 / fan_in) * 1.00294
    for name, layer in generator.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            fan_in = layer.weight[0].numel()
            s = math.sqrt(1.3 * 2 / fan_in)
            assert torch.all(layer.bias == 0), name
            assert layer.weight.abs().max() <= 2 * s, name
            if layer.weight.numel() > 100_000:  # enough weights for a 1 % estimate of the spread
                assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in) * 1.00294, rel=0.01), name
                assert layer.weight.abs().max() > 1.99 * s, name
        elif isinstance(layer, (nn.InstanceNorm2d, nn.GroupNorm)):
            assert torch.all(layer.weight == 1) and torch.all(layer.bias == 0), name
    big = [layer for layer in generator.modules() if isinstance(layer, nn.Linear) and layer.weight.numel() > 100_000]
    assert len(big) == 2  # the two linear bottlenecks were checked


def test_pytorch_initialisation_is_kept_for_legacy_configurations():
    torch.manual_seed(0)
    generator = Generator(replace(preset_config("tiny"), initialisation="pytorch"))
    layer = generator.to_content  # PyTorch's default: uniform(+-1/sqrt(fan_in)) for weights and biases
    bound = 1 / math.sqrt(layer.in_features)
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() > 0
    assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)


@pytest.mark.parametrize("n_down, kernels", [(1, (5, 3, 3)), (3, (3, 4, 3)), (3, (7, 3, 5))])
def test_topology_sizes_move_the_bottleneck_and_the_kernels(n_down, kernels):
    outer, down, up = kernels
    config = ModelConfig(image_size=32, width=4, n_residual=1, content_dim=6, style_dim=5, mlp_dim=7,
                         n_down=n_down, outer_kernel=outer, down_kernel=down, up_kernel=up)
    generator, discriminator = Generator(config), Discriminator(config)
    inner, side = 4 * 2**n_down, 32 // 2**n_down
    assert generator.feature_shape == (inner, side, side)
    x = torch.rand(2, 3, 32, 32)
    content, style = generator.encode(x)
    assert content.shape == (2, 6) and style.shape == (2, 5)
    assert generator(x).shape == x.shape and discriminator(x).shape == x.shape
    assert discriminator.encode(x)[0].shape == (2, inner // 2, side, side)  # D: half width, no bottleneck
    convs = [m for m in generator.content_encoder if isinstance(m, nn.Conv2d)]
    assert [m.kernel_size[0] for m in convs[: n_down + 1]] == [outer] + [down] * n_down
    assert [m.out_channels for m in convs[: n_down + 1]] == [4 * 2**i for i in range(n_down + 1)]
    ups = [m for m in generator.upsample if isinstance(m, nn.Conv2d)]
    assert [m.kernel_size[0] for m in ups] == [up] * n_down + [outer]
    assert [m.out_channels for m in ups] == [4 * 2**i for i in reversed(range(n_down))] + [3]
    style_convs = [m for m in generator.style_encoder if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in style_convs] == [min(4 * 2**i, inner) for i in range(5)] + [5]
    assert generator.to_content.in_features == inner * side * side
    assert count_parameters(generator) == expected_parameters(config, True, 4, 5, 7)
    d = config.discriminator
    assert count_parameters(discriminator) == expected_parameters(config, False, d.width, d.style_dim, d.mlp_dim)


def test_reference_topology_is_the_default_and_old_files_keep_it():
    config = ModelConfig()
    assert (config.n_down, config.outer_kernel, config.down_kernel, config.up_kernel) == (2, 7, 4, 5)
    stored = {k: v for k, v in PRESETS["paper"].to_dict().items()
              if k not in ("n_down", "outer_kernel", "down_kernel", "up_kernel")}
    assert ModelConfig.from_dict(stored) == PRESETS["paper"]


@pytest.mark.parametrize("field, value", [("n_down", 0), ("n_down", 5), ("outer_kernel", 4), ("up_kernel", 0),
                                          ("down_kernel", 5)])
def test_invalid_topology_sizes_are_refused(field, value):
    with pytest.raises(InputError, match=field):
        ModelConfig(**{field: value})

"""Network shapes and parameter counts of every preset, checked against the architecture's formula."""

import pytest
import torch

from gaia_stim.errors import InputError
from gaia_stim.model import (
    PRESETS,
    Discriminator,
    Generator,
    ModelConfig,
    count_parameters,
    preset_config,
)


def conv(k, cin, cout):
    return k * k * cin * cout + cout


def expected_parameters(config, bottleneck, width, style_dim, mlp_dim):
    """Parameter count written out from the description in DESIGN.md section 3.1."""
    c, w, n = config.channels, width, config.n_residual
    inner, features = 4 * w, 4 * w * (config.image_size // 4) ** 2
    content = conv(7, c, w) + conv(4, w, 2 * w) + conv(4, 2 * w, inner)
    content += n * (2 * conv(3, inner, inner) + 2 * 2 * inner)  # two convs, two affine InstanceNorms
    style = conv(7, c, w) + conv(4, w, 2 * w) + conv(4, 2 * w, inner) + 2 * conv(4, inner, inner)
    style += conv(1, inner, style_dim)
    decoder = n * 2 * conv(3, inner, inner)
    n_adain = n * 2 * 2 * inner  # two AdaINs per block, scale and shift
    decoder += (style_dim * mlp_dim + mlp_dim) + (mlp_dim * mlp_dim + mlp_dim) + (mlp_dim * n_adain + n_adain)
    decoder += conv(5, inner, 2 * w) + 2 * 2 * w + conv(5, 2 * w, w) + 2 * w + conv(7, w, c)
    linear = 0
    if bottleneck:
        linear = (features * config.content_dim + config.content_dim) + (config.content_dim * features + features)
    return content + style + decoder + linear


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("channels", [1, 3])
def test_parameter_counts_match_the_architecture(preset, channels):
    config = preset_config(preset, channels=channels)
    with torch.device("meta"):  # the paper preset's 270M parameters need no memory here
        generator, discriminator = Generator(config), Discriminator(config)
    assert count_parameters(generator) == expected_parameters(
        config, True, config.width, config.style_dim, config.mlp_dim
    )
    d = config.discriminator
    assert d.width == config.width // 2 and d.mlp_dim == config.mlp_dim // 2
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

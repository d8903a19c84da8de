"""Model files written before the reference network's fields existed load as the legacy network.

gaia-stim 0.1.0 stored a configuration of eight fields in its model files (``OLD_FIELDS``); the
reference choices (``adain``, ``discriminator_style_ratio``, ``initialisation``) and the topology
sizes came later. A file without them was made by the legacy network -- per-norm AdaIN (one
(scale, shift) pair for each AdaIN of each residual block), D's style code halved, PyTorch's
initialisation -- and must load and decode as that network (docs/training.md, the table of
reference and legacy fields). The shipped default model was such a file until it was replaced by a
reference-form one, so these tests keep the path covered: they write small legacy files as the old
gaia-stim did, a run's float32 ``model.pt`` and a float16 export like the first default model,
and load them through ``gaia_stim.load_model`` and ``gaia-stim info``.

The network is the ``tiny`` preset's widths at two residual blocks, so that the per-norm AdaIN
parameters are split over more than one block.
"""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch.nn import functional as F

import gaia_stim
from gaia_stim.cli import main
from gaia_stim.model import checkpoint
from gaia_stim.model.config import preset_config
from gaia_stim.model.networks import Discriminator, Generator, count_parameters

# The configuration fields of gaia-stim 0.1.0's model files, all that its ModelConfig had.
OLD_FIELDS = ("image_size", "channels", "width", "n_residual", "content_dim", "style_dim", "mlp_dim",
              "discriminator_width_ratio")
CONFIG = replace(preset_config("tiny"), n_residual=2)
# The legacy network, written out here rather than taken from gaia_stim.model.config.LEGACY.
LEGACY_CONFIG = replace(CONFIG, adain="per-norm", discriminator_style_ratio=0.5, initialisation="pytorch")


def old_payload(weights, dtype):
    """A model file's contents as gaia-stim 0.1.0 wrote them (``model_payload``, then
    ``half_precision`` for a shipped float16 file)."""
    payload = {
        "format": "gaia-stim-model",
        "format_version": 1,
        "gaia_stim_version": "0.1.0",
        "torch_version": str(torch.__version__),
        "config": {name: getattr(CONFIG, name) for name in OLD_FIELDS},
        "generator": {name: tensor.detach().clone() for name, tensor in weights.items()},
        "training": {"preset": "tiny", "steps": 0, "seed": 3, "batch_size": 8},
    }
    if dtype == "float16":
        payload["generator"] = {k: v.half() if v.dtype == torch.float32 else v for k, v in weights.items()}
        payload["stored_dtype"] = "float16"
    return payload


@pytest.fixture(scope="module", params=["float32", "float16"])
def legacy_file(request, tmp_path_factory):
    """(path, the generator weights as stored, as float32) of a legacy model file."""
    torch.manual_seed(3)
    with torch.no_grad():
        generator = Generator(LEGACY_CONFIG)  # PyTorch's initialisation, as then
        for tensor in generator.state_dict().values():
            if torch.all(tensor == tensor.flatten()[0]):  # the norms' scales of 1 and offsets of 0
                tensor.add_(0.1 * torch.randn_like(tensor))  # made to differ, so a mix-up shows
    path = tmp_path_factory.mktemp("legacy") / f"model_{request.param}.pt"
    payload = old_payload(generator.state_dict(), request.param)
    torch.save(payload, path)
    assert not {"adain", "discriminator_style_ratio", "initialisation", "n_down"} & set(payload["config"])
    return path, {k: v.float() for k, v in payload["generator"].items()}


def conv_parameters(k, a, b):
    return k * k * a * b + b


def legacy_generator_parameters(c, w, n, side, content_dim, style_dim, mlp_dim):
    """G's parameter count from gaia-stim 0.1.0's network definition (fixed topology: kernels 7, 4, 5,
    two stride-2 stages to 4w channels, a style path of four stride-2 stages; per-norm AdaIN)."""
    inner = 4 * w
    features = inner * side * side
    content = conv_parameters(7, c, w) + conv_parameters(4, w, 2 * w) + conv_parameters(4, 2 * w, inner)
    content += n * (2 * conv_parameters(3, inner, inner) + 2 * 2 * inner)  # residual blocks, affine InstanceNorm
    style = conv_parameters(7, c, w) + conv_parameters(4, w, 2 * w) + conv_parameters(4, 2 * w, inner)
    style += 2 * conv_parameters(4, inner, inner) + conv_parameters(1, inner, style_dim)
    linear = (features * content_dim + content_dim) + (content_dim * features + features)
    blocks = n * 2 * conv_parameters(3, inner, inner)
    adain = n * 2 * 2 * inner  # per block: two AdaINs, each a scale and a shift of inner channels
    mlp = (style_dim * mlp_dim + mlp_dim) + (mlp_dim * mlp_dim + mlp_dim) + (mlp_dim * adain + adain)
    upsample = conv_parameters(5, inner, 2 * w) + 2 * 2 * w + conv_parameters(5, 2 * w, w) + 2 * w
    upsample += conv_parameters(7, w, c)
    return content + style + linear + blocks + mlp + upsample


def test_a_legacy_model_file_loads_as_the_legacy_network(legacy_file):
    path, _ = legacy_file
    model = gaia_stim.load_model(str(path))
    config = model.config
    assert (config.adain, config.discriminator_style_ratio, config.initialisation) == ("per-norm", 0.5, "pytorch")
    assert config == LEGACY_CONFIG
    assert (model.image_size, model.channels, model.latent_dim, model.version) == (32, 3, 96, "0.1.0")

    # 32 px, w = 8: the residual blocks run at 32 channels on an 8 x 8 map; two blocks of two AdaINs
    generator = model.generator
    assert [layer.out_features for layer in generator.style_mlp if isinstance(layer, torch.nn.Linear)] == [
        64, 64, 2 * 2 * 2 * 32]
    pairs = generator.adain_parameters(torch.randn(1, 32))
    assert len(pairs) == 2 and all(len(block) == 4 for block in pairs)
    assert len({id(p) for block in pairs for p in block}) == 8  # a (scale, shift) pair for each AdaIN
    expected = legacy_generator_parameters(3, 8, 2, 8, 64, 32, 64)
    assert count_parameters(generator) == expected
    # the reference form's MLP ends in one (scale, shift) pair of 32 for every AdaIN, not 2 x 2 x 2 x 32
    with torch.device("meta"):
        shared = count_parameters(Generator(replace(LEGACY_CONFIG, adain="shared")))
    assert shared == expected - (64 * 256 + 256) + (64 * 64 + 64) != expected

    # D: half G's width and MLP, and in the legacy form half its style code as well (16, not 32)
    with torch.device("meta"):
        discriminator = Discriminator(config)
    assert discriminator.style_encoder[-1].out_channels == 16
    assert [layer.out_features for layer in discriminator.style_mlp if isinstance(layer, torch.nn.Linear)] == [
        32, 32, 2 * 2 * 2 * 16]


def reflect_conv(x, weights, name, stride=1):
    kernel = weights[name + ".weight"].shape[-1]
    pad = (kernel - stride + 1) // 2 if stride == 2 else kernel // 2
    return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), weights[name + ".weight"], weights[name + ".bias"], stride)


def adain_by_hand(x, scale, shift):
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(2, 3), keepdim=True)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(var + 1e-5) + shift[:, :, None, None]


def legacy_decode_by_hand(weights, z, order=(0, 1, 2, 3)):
    """gaia-stim 0.1.0's decoder, written from its definition with the file's weights: the MLP on z_s
    gives 4C values per residual block, in the order scale1, shift1, scale2, shift2 (``order`` reads
    them in another, to show that the order matters)."""
    inner, side = 32, 8
    content, style = z[:, :64], z[:, 64:]
    h = F.linear(content, weights["from_content.weight"], weights["from_content.bias"]).view(-1, inner, side, side)
    m = F.relu(F.linear(style, weights["style_mlp.0.weight"], weights["style_mlp.0.bias"]))
    m = F.relu(F.linear(m, weights["style_mlp.2.weight"], weights["style_mlp.2.bias"]))
    m = F.linear(m, weights["style_mlp.4.weight"], weights["style_mlp.4.bias"])
    for block in range(2):
        parts = m[:, 4 * inner * block : 4 * inner * (block + 1)].split(inner, dim=1)
        scale1, shift1, scale2, shift2 = (parts[i] for i in order)
        y = F.relu(adain_by_hand(reflect_conv(h, weights, f"blocks.{block}.conv1"), scale1, shift1))
        h = h + adain_by_hand(reflect_conv(y, weights, f"blocks.{block}.conv2"), scale2, shift2)
    for conv_index, norm_index in ((1, 2), (5, 6)):
        h = reflect_conv(F.interpolate(h, scale_factor=2, mode="nearest"), weights, f"upsample.{conv_index}")
        h = F.relu(F.group_norm(h, 1, weights[f"upsample.{norm_index}.weight"], weights[f"upsample.{norm_index}.bias"]))
    return torch.sigmoid(reflect_conv(h, weights, "upsample.8"))


def test_a_legacy_model_file_decodes_as_the_network_it_holds(legacy_file):
    path, weights = legacy_file
    model = gaia_stim.load_model(path)
    generator = Generator(LEGACY_CONFIG).eval()  # built directly in the legacy form, from the same weights
    generator.load_state_dict(weights)

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 32, 32, 3)).astype(np.float32)
    latents = model.encode(images)
    assert latents.shape == (3, 96) and np.isfinite(latents).all()
    with torch.no_grad():
        direct = generator.encode_latent(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(latents, direct, rtol=1e-4, atol=1e-5)
    decoded = model.decode(latents)
    assert decoded.shape == (3, 32, 32, 3) and np.isfinite(decoded).all()

    z = torch.from_numpy(rng.normal(0, 1, (4, 96)).astype(np.float32))  # a fixed latent
    images = model.decode(z.numpy())
    with torch.no_grad():
        direct = generator.decode_latent(z).permute(0, 2, 3, 1).numpy()
        by_hand = legacy_decode_by_hand(weights, z).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(images, direct, rtol=0, atol=1e-5)
    np.testing.assert_allclose(images, by_hand, rtol=0, atol=1e-5)
    assert images.std() > 0.01  # the comparison is between real images, not a flat grey
    # and it can tell the AdaIN parameters apart: the first block's two pairs read the other way round
    # decode otherwise
    with torch.no_grad():
        swapped = legacy_decode_by_hand(weights, z, order=(2, 3, 0, 1)).permute(0, 2, 3, 1).numpy()
    assert np.abs(images - swapped).max() > 1e-3


def test_info_reports_a_legacy_model_file(legacy_file):
    path, _ = legacy_file
    runner = CliRunner()
    result = runner.invoke(main, ["info", "--model", str(path)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for line in ("latent_dim: 96", "content_dim: 64", "style_dim: 32", "image_size: 32", "preset: tiny",
                 "gaia_stim_version: 0.1.0"):
        assert line in result.output, line
    as_json = runner.invoke(main, ["info", "--model", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    record = json.loads(as_json.output)
    assert record["path"] == os.path.abspath(path) and record["sha256"] == gaia_stim.load_model(path).file_sha256
    assert record["training"] == {"preset": "tiny", "steps": 0, "seed": 3, "batch_size": 8}

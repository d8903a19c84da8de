"""Network configuration and the three presets.

``paper`` is the reference architecture of the authors' TensorFlow code (128 px).
``small`` (64 px) and ``tiny`` (32 px) keep its topology -- content and style
paths, residual blocks, AdaIN decoder, two upsampling stages, a discriminator at
half width without the linear bottlenecks -- at widths and depths a CPU can train.
Their sizes were chosen by measurement; ``benchmarks/train_speed.py`` prints the
figures (images/s, peak memory) behind the choice.

Three fields select between the reference network and the network gaia-stim used
before it followed the reference (``LEGACY``): how AdaIN parameters are predicted,
the size of D's style code, and the initialisation. Model files and checkpoints
written before these fields existed store a configuration without them;
:meth:`ModelConfig.from_dict` reads those with the legacy values, so they load
and decode exactly as they did.
"""

from dataclasses import asdict, dataclass, fields, replace

from gaia_stim.core.errors import InputError

__all__ = ["ModelConfig", "PRESETS", "LEGACY", "preset_config"]

ADAIN_CHOICES = ("shared", "per-norm")
INITIALISATIONS = ("reference", "pytorch")


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = 128  # square images, divisible by 16 (style path downsamples 4 times)
    channels: int = 3  # 1 (grey) or 3 (RGB)
    width: int = 64  # channels after the first conv of G; G's residual blocks run at 4 * width
    n_residual: int = 4  # residual blocks in G's encoder and AdaIN blocks in G's decoder
    content_dim: int = 512  # size of the content code z_c (the linear bottleneck)
    style_dim: int = 512  # size of the style code z_s
    mlp_dim: int = 256  # hidden size of the MLP that maps z_s to AdaIN scale and shift
    # D is the same network at ``discriminator_width_ratio`` of G's widths, without linear bottlenecks
    discriminator_width_ratio: float = 0.5
    # "shared": the MLP's two heads give one (scale, shift) pair of size 4 * width that every AdaIN
    # of the decoder uses (the reference); "per-norm": one pair per AdaIN (legacy gaia-stim)
    adain: str = "shared"
    # size of D's style code as a fraction of G's: 1.0 in the reference, 0.5 in legacy gaia-stim
    discriminator_style_ratio: float = 1.0
    # "reference": TF1 variance_scaling_initializer() on every conv and linear kernel (truncated
    # normal, stddev sqrt(1.3 * 2 / fan_in), cut at 2 stddev), zero biases; "pytorch": torch defaults
    initialisation: str = "reference"
    # The topology's sizes (the reference's values by default): stride-2 stages before the residual
    # blocks (the feature map, where the linear bottleneck sits, is S / 2**n_down at w * 2**n_down
    # channels; the decoder upsamples as many times), and the kernel sizes of the first and last
    # convolutions, of the downsampling convolutions and of the upsampling convolutions
    n_down: int = 2
    outer_kernel: int = 7
    down_kernel: int = 4
    up_kernel: int = 5

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise InputError(f"channels must be 1 or 3; got {self.channels!r}")
        if self.image_size < 16 or self.image_size % 16:
            raise InputError(
                f"image size must be a multiple of 16 and at least 16; got {self.image_size!r}"
            )
        for name in ("width", "n_residual", "content_dim", "style_dim", "mlp_dim"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1; got {getattr(self, name)!r}")
        if self.n_down not in (1, 2, 3, 4):
            raise InputError(f"n_down must be 1, 2, 3 or 4; got {self.n_down!r}")
        for name in ("outer_kernel", "up_kernel"):
            if getattr(self, name) < 1 or getattr(self, name) % 2 == 0:
                raise InputError(f"{name} must be an odd size of at least 1; got {getattr(self, name)!r}")
        if self.down_kernel not in (3, 4):
            raise InputError(f"down_kernel must be 3 or 4 (a stride-2 convolution that halves the size); got {self.down_kernel!r}")
        if int(self.width * self.discriminator_width_ratio) < 1:
            raise InputError("discriminator_width_ratio leaves the discriminator with no channels")
        if not self.discriminator_style_ratio > 0:
            raise InputError(f"discriminator_style_ratio must be positive; got {self.discriminator_style_ratio!r}")
        if self.adain not in ADAIN_CHOICES:
            raise InputError(f"adain must be one of {', '.join(ADAIN_CHOICES)}; got {self.adain!r}")
        if self.initialisation not in INITIALISATIONS:
            raise InputError(
                f"initialisation must be one of {', '.join(INITIALISATIONS)}; got {self.initialisation!r}"
            )

    @property
    def inner_width(self):
        """Channels of the feature map where the residual blocks and the bottleneck sit."""
        return self.width * 2**self.n_down

    @property
    def feature_size(self):
        """Side of that feature map: the image size over 2**n_down."""
        return self.image_size // 2**self.n_down

    @property
    def latent_dim(self):
        return self.content_dim + self.style_dim

    @property
    def discriminator(self):
        """The configuration of D: G's topology at reduced width."""
        ratio = self.discriminator_width_ratio
        return replace(
            self,
            width=max(1, int(self.width * ratio)),
            style_dim=max(1, int(self.style_dim * self.discriminator_style_ratio)),
            mlp_dim=max(1, int(self.mlp_dim * ratio)),
            discriminator_width_ratio=1.0,
            discriminator_style_ratio=1.0,
        )

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The configuration stored as ``values``; fields it lacks take their ``LEGACY`` value.

        Files written before a field existed were made by the legacy network, so a
        missing field means the legacy choice, never the current default.
        """
        names = [field.name for field in fields(cls)]
        known = {**LEGACY, **{name: values[name] for name in names if name in values}}
        for field in fields(cls):
            value = known.get(field.name, field.default)
            expected = {"int": int, "float": (int, float), "str": str}.get(
                field.type if isinstance(field.type, str) else field.type.__name__
            )
            if expected is not None and (isinstance(value, bool) or not isinstance(value, expected)):
                raise InputError(f"configuration field {field.name} must be {getattr(field.type, '__name__', field.type)}; got {value!r}")
        return cls(**known)


# The network of gaia-stim's model files written before the reference choices above were
# selectable (the first default model, sha256 77fa5515fe58..., among them; the one shipped now
# is a reference-form `small`).
LEGACY = {"adain": "per-norm", "discriminator_style_ratio": 0.5, "initialisation": "pytorch"}


PRESETS = {
    # The authors' network: 128 px, G's two linear layers hold 32*32*256*512 (+ bias) ~ 134M each.
    "paper": ModelConfig(),
    # 64 px colour; the preset of the shipped default model, trainable on a laptop CPU.
    "small": ModelConfig(
        image_size=64, width=16, n_residual=2, content_dim=128, style_dim=64, mlp_dim=128
    ),
    # 32 px; for tests, quick experiments and tutorials.
    "tiny": ModelConfig(
        image_size=32, width=8, n_residual=1, content_dim=64, style_dim=32, mlp_dim=64
    ),
}


def preset_config(preset, image_size=None, channels=None):
    """The configuration of ``preset``, optionally at another image size or channel count."""
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    config = PRESETS[preset]
    changes = {}
    if image_size is not None:
        changes["image_size"] = int(image_size)
    if channels is not None:
        changes["channels"] = int(channels)
    return replace(config, **changes) if changes else config

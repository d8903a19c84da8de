"""``gaia-stim prepare``: decode an image folder once into a cache that training reads from disk."""

import click

from gaia_stim.cli._common import echo, reports_errors

PRESET_SIZES = {"tiny": 32, "small": 64, "paper": 128}


@click.command("prepare")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Cache folder to write.")
@click.option("--preset", type=click.Choice(list(PRESET_SIZES)), default="small", show_default=True, help="The preset whose image size to prepare for.")
@click.option("--image-size", type=click.IntRange(min=16, max=1024), default=None, help="Image size in pixels (multiple of 16); default: the preset's.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True, help="1 = grey, 3 = colour.")
@click.option("--force", is_flag=True, help="Replace --out if it is an existing cache.")
@reports_errors
def prepare(folder, out_dir, preset, image_size, channels, force):
    """Decode every image under FOLDER once into a uint8 cache for `gaia-stim train --data CACHE`.

    Training then reads each batch from the cache instead of holding every image in memory,
    so data sets larger than memory train in bounded memory. Images are prepared exactly as
    `train --data FOLDER` prepares them. A cache whose FOLDER has changed since is refused.

    \b
    Example:
      gaia-stim prepare faces/ --out faces.cache --preset paper
      gaia-stim train --data faces.cache --out runs/faces --preset paper
    """
    import sys

    from gaia_stim.model.cache import prepare_cache
    from gaia_stim.model.config import preset_config

    config = preset_config(preset, image_size=image_size, channels=int(channels))
    written = prepare_cache(
        folder, out_dir, config.image_size, config.channels, force=force, progress=sys.stderr.isatty()
    )
    from gaia_stim.model.cache import ImageCache

    cache = ImageCache(written)
    n_images, size, _, held = cache.shape
    cache.close()
    echo(f"prepared {n_images} images of {size}x{size}x{held} from {folder} into {written}")

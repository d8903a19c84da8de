"""Helpers shared by the command modules."""

import functools
import re

import click

from gaia_stim.errors import GaiaStimError


def reports_errors(command):
    """Turn library errors into one clear line and exit status 1 (``--debug`` re-raises)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (GaiaStimError, FileNotFoundError, PermissionError, IsADirectoryError) as error:
            context = click.get_current_context(silent=True)
            root = context.find_root() if context is not None else None
            if root is not None and (root.obj or {}).get("debug"):
                raise
            raise click.ClickException(str(error)) from None

    return wrapper


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text):
    """``'90s'``, ``'30m'``, ``'2h'``, ``'1.5h'`` or plain seconds -> seconds (float)."""
    match = _DURATION.match(text or "")
    if match is None or float(match.group(1)) <= 0:
        raise click.BadParameter(
            f"{text!r} is not a duration; write a positive number with s, m, h or d, e.g. 90s, 30m, 2h"
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]

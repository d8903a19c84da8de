"""``gaia-stim explore``: a local web page to find stimuli by eye and export what you saw as a stimulus set.

:mod:`~gaia_stim.explore.state` holds the session (the model, the images it may read, live frames,
the kinds' results, exports through the one writer); :mod:`~gaia_stim.explore.server` serves it
with Starlette on uvicorn behind a token; :mod:`~gaia_stim.explore.files` checks every path and
upload; ``static/`` is the page (plain HTML, JavaScript and CSS, nothing fetched from elsewhere).
The web server is the optional extra ``gaia-stim[explore]``; :func:`require_server` says so in
one line when it is missing. docs/explore.md describes the page and its security model.
"""

from gaia_stim.core.errors import InputError

__all__ = ["require_server"]


def require_server():
    """Raise InputError (one line, with the fix) unless Starlette and uvicorn are installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise InputError(
            f"gaia-stim explore needs a web server ({error.name} is not installed): pip install 'gaia-stim[explore]'"
        ) from None

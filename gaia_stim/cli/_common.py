"""What every command shares: one error convention, safe output, option types.

The error convention (docs/errors.md):

* The library raises :class:`gaia_stim.core.errors.GaiaStimError` subclasses for bad input, with a
  message that names the argument or file, the bad value and the fix.
* Every command is wrapped in :func:`reports_errors`, the one place that turns exceptions into
  what a user sees: one line ``Error: ...`` on stderr, no traceback, and an exit status:

  ====  =====================================================================
  1     bad input or an environment problem (GaiaStimError, OSError, MemoryError)
  2     a malformed command line (click's own usage errors)
  70    an internal error, a bug in gaia-stim (the line asks for a report)
  130   interrupted by Ctrl-C (SIGINT)
  143   stopped by SIGTERM (what a cluster scheduler sends)
  ====  =====================================================================

* ``gaia-stim --debug ...`` re-raises instead, with the full traceback.
* Text that holds paths goes through :func:`echo`, so file names that are not valid UTF-8
  are shown escaped instead of crashing the output.
"""

import functools
import math
import os
import re
import signal

import click

from gaia_stim.core.errors import GaiaStimError, Terminated, describe_os_error

EXIT_BAD_INPUT = 1
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _raise_terminated(signum, frame):
    raise Terminated()


def install_sigterm_handler():
    """Make SIGTERM unwind like Ctrl-C (temporary files removed, checkpoints kept)."""
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (e.g. an embedding application): leave it alone
        pass


def install_warning_lines():
    """Show gaia-stim's own warnings as one line ``Warning: ...`` on stderr (no file and line number)."""
    import warnings

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("gaia_stim"):
            click.echo(f"Warning: {safe_text(message)}", err=True)
        else:
            default(message, category, filename, lineno, file, line)

    if getattr(warnings.showwarning, "__name__", "") != "show":
        warnings.showwarning = show


def safe_text(text):
    """``text`` with anything that cannot be printed as UTF-8 (undecodable file names) escaped."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def echo(text="", err=False):
    """click.echo for text that may hold file names."""
    click.echo(safe_text(text), err=err)


class CommandError(click.ClickException):
    """One line ``Error: ...`` and a chosen exit status."""

    def __init__(self, message, exit_code=EXIT_BAD_INPUT):
        super().__init__(safe_text(message))
        self.exit_code = exit_code


def _debug_requested():
    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    return root is not None and bool((root.obj or {}).get("debug"))


def reports_errors(command):
    """Turn every exception a command can meet into one clear line and an exit status."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except BaseException as error:  # noqa: B902 -- this is the one place errors become messages
            if _debug_requested() and not isinstance(error, KeyboardInterrupt):
                raise
            raise _as_command_error(error) from None

    return wrapper


def _as_command_error(error):
    if isinstance(error, Terminated):
        return CommandError("stopped by SIGTERM; nothing half-written was left", EXIT_TERMINATED)
    if isinstance(error, KeyboardInterrupt):
        return CommandError("interrupted; nothing half-written was left", EXIT_INTERRUPTED)
    if isinstance(error, GaiaStimError):
        return CommandError(str(error))
    if isinstance(error, OSError):
        return CommandError(describe_os_error(error))
    if isinstance(error, MemoryError):
        return CommandError(
            "ran out of memory; ask for fewer or smaller images (e.g. a smaller --batch-size or --steps)"
        )
    if not isinstance(error, Exception):
        raise error
    return CommandError(
        f"internal error ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''});"
        " this is a bug in gaia-stim: rerun with 'gaia-stim --debug ...' and report the traceback",
        EXIT_INTERNAL,
    )


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


class FiniteFloat(click.ParamType):
    """A float option that must be finite and inside a range (``nan``, ``inf`` and ``-1`` refused)."""

    name = "number"

    def __init__(self, minimum=None, maximum=None, min_open=False, max_open=False):
        self.minimum, self.maximum, self.min_open, self.max_open = minimum, maximum, min_open, max_open

    def convert(self, value, param, ctx):
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low = self.minimum
        if low is not None and (number < low or (self.min_open and number == low)):
            self.fail(f"{value!r} must be {'greater than' if self.min_open else 'at least'} {low:g}", param, ctx)
        high = self.maximum
        if high is not None and (number > high or (self.max_open and number == high)):
            self.fail(f"{value!r} must be {'less than' if self.max_open else 'at most'} {high:g}", param, ctx)
        return number


SEED = click.IntRange(min=0, max=2**63 - 1)

# ``--threads``: of the gaia-stim group (every command) and of ``gaia-stim train``
THREADS = click.IntRange(min=1, max=4096)
THREADS_HELP = (
    "CPU threads for the computation (torch's and the numeric libraries'); default: the libraries' own"
    " choice, usually one per core. Two jobs on one machine should share its cores, e.g. --threads 1 each."
)
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def apply_threads(threads):
    """Limit the numeric libraries to ``threads`` threads (None: leave them as they are).

    Libraries not yet loaded read the environment variables; torch, if loaded, is told directly.
    """
    if threads is None:
        return
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def model_option(help="'default' (the shipped model), or a run folder or model file from 'gaia-stim train'."):
    """``--model`` (as ``model_name``) of the commands that generate with a model."""
    return click.option("--model", "model_name", default="default", show_default=True, help=help)


def yes_option(cap_name):
    """``--yes``: go past the cap ``gaia_stim.core.limits.CAPS[cap_name]`` (named in the help)."""
    from gaia_stim.core.limits import CAPS

    cap = CAPS[cap_name]
    return click.option(
        "--yes", is_flag=True,
        help=f"Go ahead with more than {cap.limit:,} {cap.counts}, which is otherwise refused with an estimate of"
             " the time and disk it takes (docs/errors.md, caps on work).",
    )


# ``--device`` of the commands that generate with a model (training has its own, defaulting to auto)
device_option = click.option(
    "--device", default="cpu", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
    help="Where the model runs.",
)

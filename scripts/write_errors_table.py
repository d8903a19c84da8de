"""Write the table of bad inputs in docs/errors.md from the cases in tests/test_bad_inputs.py.

Each case is run as the test runs it, and the line the user sees is copied into the table, so
the documentation shows real messages. The caps on work and the option limits are copied from
their one table, gaia_stim.core.limits. Run from the repository root:

    .venv/bin/python scripts/write_errors_table.py
"""

import os
import re
import sys
import tempfile
from pathlib import Path

from _pytest.monkeypatch import MonkeyPatch
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gaia_stim.cli import main  # noqa: E402
from test_bad_inputs import CASES  # noqa: E402

DOCS = ROOT / "docs" / "errors.md"
BEGIN, END = "<!-- cases: begin -->", "<!-- cases: end -->"
CAPS_BEGIN, CAPS_END = "<!-- caps: begin -->", "<!-- caps: end -->"


def message_of(case):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "work"
        folder.mkdir()
        patch = MonkeyPatch()
        cwd = os.getcwd()
        try:
            patch.chdir(folder)
            argv = case.argv(folder)
            if case.patch is not None:
                case.patch(patch)
            result = CliRunner().invoke(main, argv)
        finally:
            patch.undo()
            os.chdir(cwd)
        lines = [line for line in result.output.splitlines() if line.startswith("Error")]
        text = lines[0] if lines else "(works: " + result.output.strip().splitlines()[0] + ")"
        text = text.replace(scratch, "...")
        text = re.sub(r"'[^']*/work/", "'", text)
        return result.exit_code, text


def table():
    rows = ["| case | input | exit | what the user sees |", "|---|---|---|---|"]
    for case in CASES:
        status, text = message_of(case)
        assert status == case.status, (case.id, status, text)
        text = text.replace("|", "\\|")
        rows.append(f"| `{case.id}` | {case.input} | {status} | {text} |")
    return "\n".join(rows)


def caps_table():
    from gaia_stim.core.limits import CAPS, OPTION_LIMITS, estimate

    rows = ["| cap (without --yes) | counted as | commands | past the cap, e.g. ten times it |", "|---|---|---|---|"]
    for name, cap in CAPS.items():
        rows.append(f"| {cap.limit:,} {cap.counts} | {cap.how} | {cap.commands} | refused, or done with --yes;"
                    f" {10 * cap.limit:,} {cap.counts} take {estimate(name, 10 * cap.limit)} |")
    rows += ["", "| option | allows | the same limit holds for these values read from files |", "|---|---|---|"]
    rows += [f"| {option} | {allowed} | {read} |" for option, allowed, read in OPTION_LIMITS]
    return "\n".join(rows)


def replace_block(text, begin, end, body):
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + "\n" + text[stop:]


def main_():
    text = replace_block(DOCS.read_text(), CAPS_BEGIN, CAPS_END, caps_table())
    if "--caps-only" not in sys.argv:
        text = replace_block(text, BEGIN, END, table())
    DOCS.write_text(text)
    print(f"wrote the caps{'' if '--caps-only' in sys.argv else f' and {len(CASES)} cases'} to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main_()

"""``gaia-stim trials``: a pre-randomised trial list (PsychoPy conditions CSV) for one design."""

import click

from gaia_stim.cli._common import reports_errors

DESIGN_CHOICES = ["identification", "2afc", "abx", "same-different"]


@click.command("trials")
@click.option(
    "--stimuli", "stimulus_dir", required=True, type=click.Path(exists=True, file_okay=False),
    help="A continuum stimulus set (folder with stimuli.csv), e.g. from 'gaia-stim continuum'.",
)
@click.option("--design", required=True, type=click.Choice(DESIGN_CHOICES), help="The trial design.")
@click.option(
    "--reps", default=10, show_default=True, type=click.IntRange(min=1),
    help="Blocks; every condition appears once per block.",
)
@click.option("--seed", required=True, type=click.IntRange(min=0), help="Seed of the trial order.")
@click.option(
    "--separation", "separations", multiple=True, type=click.IntRange(min=1),
    help="Step separation of the pairs (2afc, abx, same-different; repeatable)  [default: 2].",
)
@click.option(
    "--allow-repeats", is_flag=True,
    help="Allow the same condition on two consecutive trials (by default it never happens).",
)
@click.option(
    "--out", "out_file", required=True, type=click.Path(dir_okay=False),
    help="Trial CSV to write; the seed and design go into the JSON file beside it.",
)
@click.option("--force", is_flag=True, help="Replace --out and its JSON file if they exist.")
@reports_errors
def trials(stimulus_dir, design, reps, seed, separations, allow_repeats, out_file, force):
    """Write a trial list for a PsychoPy loop (loopType 'sequential').

    Image paths in the CSV are relative to the CSV; the order is drawn from --seed.

    \b
    Example:
      gaia-stim trials --stimuli continuum_a_to_b --design 2afc --reps 20 --seed 1 --out trials.csv
    """
    from gaia_stim.designs import sidecar_path, write_trials

    if design != "identification" and not separations:
        separations = (2,)
    n_trials = write_trials(
        stimulus_dir, design, reps, seed, out_file,
        separations=separations, no_repeats=not allow_repeats, force=force,
    )
    click.echo(f"wrote {n_trials} {design} trials to {out_file} (seed and design in {sidecar_path(out_file)})")

"""``gaia-stim trials``: a pre-randomised trial list (PsychoPy conditions CSV) for one design."""

import click

from gaia_stim.cli._common import reports_errors, yes_option


class DesignChoice(click.Choice):
    """The names in ``gaia_stim.designs.DESIGNS``, read when --design is parsed or shown.

    Read then rather than at import, so a registered design needs no edit here and
    ``gaia-stim --help`` does not import numpy.
    """

    def __init__(self):
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        from gaia_stim.designs.records import DESIGNS

        return tuple(DESIGNS)

    @choices.setter
    def choices(self, value):
        pass  # click.Choice.__init__ stores its argument; the registry is the one list


@click.command("trials")
@click.option(
    "--stimuli", "stimulus_dir", required=True, type=click.Path(exists=True, file_okay=False),
    help="A stimulus set (folder with stimuli.csv): a continuum, attribute series, wheel or grid.",
)
@click.option("--design", required=True, type=DesignChoice(), help="The trial design.")
@click.option(
    "--reps", default=10, show_default=True, type=click.IntRange(min=1),
    help="Blocks; every condition appears once per block.",
)
@click.option("--seed", required=True, type=click.IntRange(min=0), help="Seed of the trial order.")
@click.option(
    "--separation", "separations", multiple=True, type=click.IntRange(min=1),
    help="Step separation of the pairs, in the designs that compare images (repeatable)  [default: 2].",
)
@click.option(
    "--allow-repeats", is_flag=True,
    help="Allow two consecutive trials to show the same images (by default they never do, in any order or side).",
)
@click.option(
    "--balance-images", is_flag=True,
    help="Add pairs so every image is shown equally often (in designs that pair images; marked balancing = 1).",
)
@click.option(
    "--n-conditions", type=click.IntRange(min=1), metavar="K",
    help="MLDS designs: a balanced subset of K triads (quadruples), every image about equally often, the same"
         " subset in every block  [default: all of them].",
)
@click.option(
    "--level-column", "level_columns", multiple=True, metavar="NAME",
    help="The set's numeric column to order images by (default: morph_level, amount, angle_deg, or a grid's u"
         " and v); give two for a grid's identification design.",
)
@click.option(
    "--out", "out_file", required=True, type=click.Path(dir_okay=False),
    help="Trial CSV to write; the seed and design go into the JSON file beside it.",
)
@click.option("--force", is_flag=True, help="Replace --out and its JSON file if they exist.")
@yes_option("trials")
@reports_errors
def trials(stimulus_dir, design, reps, seed, separations, allow_repeats, balance_images, n_conditions, level_columns,
           out_file, force, yes):
    """Write a trial list for a PsychoPy loop (loopType 'sequential').

    Image paths in the CSV are relative to the CSV; the order is drawn from --seed.

    \b
    Example:
      gaia-stim trials --stimuli continuum_a_to_b --design 2afc --reps 20 --seed 1 --out trials.csv
      gaia-stim trials --stimuli continuum_a_to_b --design mlds-triads --reps 2 --seed 1 --out triads.csv
    """
    from gaia_stim.designs import DESIGNS, sidecar_path, write_trials

    if DESIGNS[design].takes_separations and not separations:
        separations = (2,)
    record = write_trials(
        stimulus_dir, design, reps, seed, out_file, separations=separations, no_repeats=not allow_repeats,
        force=force, level_columns=level_columns or None, balance_images=balance_images, yes=yes,
        n_conditions=n_conditions,
    )
    sidecar = sidecar_path(out_file)
    click.echo(f"wrote {record['n_trials']} {design} trials to {out_file} (seed, design and the times each image"
               f" is shown in {sidecar})")
    for note in record["notes"]:
        click.echo(f"note: {note}")

"""``gaia-stim scale``: a perceptual scale (MLDS) from "which pair differs more?" data files."""

import click

from gaia_stim.cli._common import SEED, echo, reports_errors


@click.command("scale")
@click.argument("data_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False),
    help="Folder to write: scale.csv, scale.png, scale.json and manifest.json.",
)
@click.option(
    "--stimuli", "stimulus_dir", default=None, type=click.Path(exists=True, file_okay=False),
    help="The stimulus set the data were collected with: its model and source sha256 and its levels go into"
    " scale.json; data levels are checked against it and R-layout ranks mapped to its levels.",
)
@click.option(
    "--bootstrap", "n_bootstrap", default=200, show_default=True, type=click.IntRange(10, 100000),
    help="Parametric bootstrap samples per participant (intervals and the runs test).",
)
@click.option("--ci", default=0.95, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Coverage of the intervals.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the bootstrap.")
@click.option("--no-plot", is_flag=True, help="Leave out scale.png.")
@click.option("--force", is_flag=True, help="Replace --out if it is a scale folder gaia-stim wrote, unchanged since.")
@reports_errors
def scale(data_files, out_dir, stimulus_dir, n_bootstrap, ci, seed, no_plot, force):
    """Fit a perceptual scale by maximum likelihood difference scaling (MLDS).

    DATA_FILES hold one row per trial of triads or quadruples (gaia-stim's
    layout: design, morph_1.., chose_second_pair; or the R package MLDS's:
    resp, S1, S2, S3[, S4]). Each participant gets a scale from 0 (first
    stimulus) to 1 (last) with bootstrap intervals, the noise sigma and a
    goodness-of-fit p-value; several participants also get their mean.

    \b
    Example:
      gaia-stim scale data/*.csv --out scale --stimuli continuum_a_to_b
    """
    from gaia_stim.analysis.mlds_report import analyze_scale

    summaries = analyze_scale(
        list(data_files), out_dir, n_bootstrap=n_bootstrap, seed=seed, ci=ci, stimulus_dir=stimulus_dir,
        plot=not no_plot, force=force,
    )
    for s in summaries:
        low, high = s["sigma_interval"]
        if s["fit"] == "participant":
            echo(
                f"{s['design']} {s['participant']}: n={s['n_trials']} sigma {s['sigma']:.3f} [{low:.3f}, {high:.3f}]"
                f" runs p {s['runs_p']:.2f}"
            )
        else:
            echo(
                f"{s['design']} mean of {s['n_participants']} participants: sigma {s['sigma']:.3f}"
                f" [{low:.3f}, {high:.3f}]"
            )
    written = "scale.csv, scale.json" if no_plot else "scale.csv, scale.png, scale.json"
    echo(f"wrote {written} to {out_dir}")

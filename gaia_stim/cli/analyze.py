"""``gaia-stim analyze``: psychometric fits of PsychoPy data files, per participant and pooled."""

import click

from gaia_stim.cli._common import reports_errors, yes_option


@click.command("analyze")
@click.argument("data_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out", "out_dir", default="analysis", show_default=True, type=click.Path(file_okay=False),
    help="Folder for summary.csv, psychometric.png and, with discrimination data, discrimination.csv,"
         " excess.csv and group.csv.",
)
@click.option(
    "--sigmoid", default="logistic", show_default=True, type=click.Choice(["logistic", "normal"]),
    help="Shape of the psychometric function.",
)
@click.option(
    "--fitter", default="auto", show_default=True, type=click.Choice(["auto", "scipy", "psignifit"]),
    help="auto: psignifit for identification data if installed, else maximum likelihood (scipy).",
)
@click.option(
    "--lapse", default=None, type=click.FloatRange(0, 0.2),
    help="Fix the lapse rate instead of fitting it  [default: fitted, 0 to 0.2].",
)
@click.option(
    "--bootstrap", "n_bootstrap", default=200, show_default=True, type=click.IntRange(min=10),
    help="Parametric bootstrap samples for the confidence intervals.",
)
@click.option("--ci", default=0.95, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Coverage of the confidence intervals.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the bootstrap.")
@click.option("--no-plot", is_flag=True, help="Write only summary.csv.")
@click.option("--force", is_flag=True, help="Replace the files analyze wrote before in --out (never other files).")
@yes_option("bootstrap_fits")
@reports_errors
def analyze(data_files, out_dir, sigmoid, fitter, lapse, n_bootstrap, ci, seed, no_plot, force, yes):
    """Fit psychometric functions to PsychoPy data files (wide CSV).

    Reports the PSE and slope (dF/dx at the PSE) with confidence intervals for
    each participant and, when there are several, for all of their trials pooled.
    Discrimination data of a participant who also did identification are compared
    with the labelling prediction (discrimination.csv, excess.csv); with two or more
    participants, group.csv holds the means of their own fits.

    \b
    Example:
      gaia-stim analyze data/*.csv --out analysis
    """
    from gaia_stim.analysis.reports import analyze_all

    outcome = analyze_all(
        list(data_files), out_dir, sigmoid=sigmoid, n_bootstrap=n_bootstrap, seed=seed, lapse=lapse,
        ci=ci, fitter=fitter, plot=not no_plot, force=force, yes=yes,
    )
    records = outcome["summary"]
    for r in records:
        click.echo(
            f"{r['design']} {r['participant']}: n={r['n_trials']} PSE {r['pse']:.3f}"
            f" [{r['pse_ci_low']:.3f}, {r['pse_ci_high']:.3f}] slope {r['slope']:.2f}"
            f" [{r['slope_ci_low']:.2f}, {r['slope_ci_high']:.2f}] lapse {r['lapse']:.3f} ({r['fitter']})"
        )
    for r in outcome["excess"]:
        click.echo(
            f"{r['design']} {r['participant']}: excess {r['mean_excess']:.3f}"
            f" [{r['mean_excess_ci_low']:.3f}, {r['mean_excess_ci_high']:.3f}], boundary p={r['p_boundary']:.2g}"
        )
    names = outcome["written"]
    written = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    click.echo(f"wrote {written} to {out_dir}")

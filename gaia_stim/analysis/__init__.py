"""Psychometric fits of PsychoPy data files from the gaia-stim protocols.

:func:`analyze` reads wide CSV data files, fits each participant and the pooled data per design,
and writes ``summary.csv`` and ``psychometric.png``. The fits are in :mod:`.psychometric`.
"""

from gaia_stim.analysis.data_files import read_data_file, read_data_files
from gaia_stim.analysis.psychometric import DESIGN_COLUMNS, bootstrap, fit, label_probability, response_probability
from gaia_stim.analysis.reports import PLOT_FILE, POOLED, SUMMARY_FILE, analyze

__all__ = [
    "DESIGN_COLUMNS", "PLOT_FILE", "POOLED", "SUMMARY_FILE", "analyze", "bootstrap", "fit",
    "label_probability", "read_data_file", "read_data_files", "response_probability",
]

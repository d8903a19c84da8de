"""Files in and out for the stimulus layer (floor 1 of docs/architecture.md).

* :mod:`gaia_stim.io.results` -- :class:`~gaia_stim.io.results.StimulusResult`, what every kind of
  stimulus returns and the set writer writes, and the registry of kinds;
* :mod:`gaia_stim.io.sets` -- the one stimulus-set writer, its manifest, and ``verify``;
* :mod:`gaia_stim.io.images` -- 8-bit conversion, PNG writing, array hashes, luminance;
* :mod:`gaia_stim.io.tables` -- CSV tables that PsychoPy's ``data.importConditions`` reads unchanged;
* :mod:`gaia_stim.io.sheets` -- labelled contact sheets (on the one tiler, :mod:`gaia_stim.core.tiles`);
* :mod:`gaia_stim.io.movies` -- GIF and MP4 movies of a set;
* :mod:`gaia_stim.io.labels` -- labels tables (each image's file and attributes), checked before a fit.

Everything here imports only :mod:`gaia_stim.core` (errors, atomic files and output ownership,
reading and preparing images) and itself, and nothing here imports torch.
"""

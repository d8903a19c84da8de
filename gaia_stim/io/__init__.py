"""Files in and out for the stimulus layer (see docs/architecture.md).

* :mod:`gaia_stim.io.images` -- reading and preparing images (from :mod:`gaia_stim.model.data`),
  8-bit conversion, PNG writing, array hashes;
* :mod:`gaia_stim.io.tables` -- CSV tables that PsychoPy's ``data.importConditions`` reads unchanged;
* :mod:`gaia_stim.io.sheets` -- labelled contact sheets (on the one tiler, :mod:`gaia_stim.model.sample_sheets`);
* :mod:`gaia_stim.io.sets` -- the generic stimulus-set writer, its manifest, ``verify`` and ``regenerate``.

Atomic files and folders live in :mod:`gaia_stim.model.atomic` (the trainer needs them too, and the
training core imports nothing from here). Nothing here imports torch.
"""

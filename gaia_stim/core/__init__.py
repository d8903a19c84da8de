"""The ground floor: what every other part of gaia-stim builds on, and nothing it builds on.

* :mod:`gaia_stim.core.errors` -- the one family of exceptions a user's input can cause;
* :mod:`gaia_stim.core.atomic` -- files that appear whole or not at all, temporary names,
  leftovers of interrupted writes, folder locks, file hashes;
* :mod:`gaia_stim.core.ownership` -- output folders and files: ``--force`` replaces only what
  gaia-stim wrote (manifests, staging folders, atomic commit);
* :mod:`gaia_stim.core.images` -- reading and preparing images (the trainer, the API and the
  stimulus layer prepare images the same way);
* :mod:`gaia_stim.core.tiles` -- the one image tiler (sample sheets, contact sheets);
* :mod:`gaia_stim.core.schemas` -- one schema per kind of file read, so every value read from a file
  is checked like the option it stands for; text read as UTF-8, arrays read without unpickling;
* :mod:`gaia_stim.core.limits` -- the caps on work and the options' limits, one table;
* :mod:`gaia_stim.core.progress` -- the one progress bar (on stderr, only when it is a terminal);
* :mod:`gaia_stim.core.device` -- which torch device a run uses;
* :mod:`gaia_stim.core.spacings` -- the spacings of a stimulus set's steps, and which kinds take which.

Nothing here imports another part of gaia-stim (``gaia_stim._version``, a leaf, is the one
exception), and nothing imports torch when it is imported (docs/architecture.md).
"""

"""The simulated store: seeded shoppers, calibrated cameras, rendered frames and ground truth.

Modules: :mod:`.scenario` (named parameter sets), :mod:`.world` (navigation and shoppers),
:mod:`.camera` (pinhole cameras and calibration), :mod:`.render` (frames and per-frame truth),
:mod:`.groundtruth` (a whole run written to disk), :mod:`.export` (YOLO dataset),
:mod:`.source` (live camera source), :mod:`.cli` (``storeheat sim``).
See ``docs/simulation.md`` for the file formats.
"""

"""The simulated store: seeded shoppers, calibrated cameras, rendered frames and ground truth.

Modules: :mod:`.scenario` (named parameter sets and their distributions), :mod:`.world`
(navigation and shoppers), :mod:`.camera` (pinhole cameras and calibration), :mod:`.stores`
(the simulated store config), :mod:`.render` (frames and per-frame truth),
:mod:`.groundtruth` (truth writers), :mod:`.run` (one run on disk), :mod:`.export` (YOLO
dataset), :mod:`.source` (live ``sim://`` camera source), :mod:`.preview` (truth drawn over a
frame), :mod:`.cli` (``storeheat sim``). File formats: ``docs/simulation.md``.
"""

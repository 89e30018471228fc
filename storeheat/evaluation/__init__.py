"""Evaluation of storeheat against ground truth: tracking, detection, heatmaps, dwell, privacy.

Modules:

* :mod:`~storeheat.evaluation.motchallenge`: read MOTChallenge sequences and result files.
* :mod:`~storeheat.evaluation.tracking`: HOTA, MOTA, IDF1 (trackeval's metric classes on
  in-memory frames).
* :mod:`~storeheat.evaluation.detection`: AP50, recall and precision.
* :mod:`~storeheat.evaluation.heatmap`: normalised L1 and Pearson r of occupancy grids.
* :mod:`~storeheat.evaluation.dwell`: zone dwell and visitor-count errors.
* :mod:`~storeheat.evaluation.leakage`: blur leakage of faces in output frames.
* :mod:`~storeheat.evaluation.compat`: the one place for NumPy 2 shims of metric libraries.

Definitions of every figure: ``docs/metrics.md``. Command line: ``storeheat eval``.
"""

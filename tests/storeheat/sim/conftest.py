"""Small simulator runs shared by the tests of this package (a few seconds, low resolution)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storeheat.sim.run import RunSummary, simulate

SMALL = (320, 180)


@pytest.fixture(scope="session")
def normal_run(tmp_path_factory: pytest.TempPathFactory) -> RunSummary:
    """``normal``, 2 cameras, 4 s, seed 7, 320×180, with video."""
    out = tmp_path_factory.mktemp("sim") / "normal-7"
    return simulate(out=Path(out), scenario="normal", cameras=2, seconds=4.0, seed=7,
                    resolution=SMALL)

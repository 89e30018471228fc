"""Bad input gives clear errors naming the argument (through the API and the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storeheat.cli import main
from storeheat.config import CameraPose
from storeheat.sim.exceptions import OutputExistsError, SimulationError
from storeheat.sim.run import simulate
from storeheat.sim.stores import load_layout


def _blind_layout() -> Path:
    layout = load_layout()
    cam = layout.cameras[0]
    # outside the store's corner, looking away from it
    blind = cam.model_copy(update={"id": "cam-blind", "pose": CameraPose(
        position_m=(0.5, 0.5), height_m=3.0, yaw_deg=-135.0, tilt_deg=20.0, hfov_deg=60.0)})
    return layout.model_copy(update={"cameras": [blind]})  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("kwargs", "argument", "words"),
    [
        ({"scenario": "rush-hour"}, "--scenario", "unknown scenario 'rush-hour'"),
        ({"cameras": 0}, "--cameras", "at least 1"),
        ({"cameras": 7}, "--cameras", "at most 6"),
        ({"seconds": 0}, "--seconds", "must be in"),
    ],
)
def test_bad_arguments_name_the_argument(tmp_path: Path, kwargs: dict[str, object],
                                         argument: str, words: str) -> None:
    with pytest.raises(SimulationError) as info:
        simulate(out=tmp_path / "run", **kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument
    assert words in str(info.value)
    assert not (tmp_path / "run").exists()  # nothing written on bad input


def test_camera_that_sees_no_floor_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SimulationError) as info:
        simulate(out=tmp_path / "run", layout=_blind_layout(), cameras=1)  # type: ignore[arg-type]
    assert info.value.argument == "camera cam-blind"
    assert "sees no floor" in str(info.value)


def test_non_empty_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError) as info:
        simulate(out=out, seconds=0.2, cameras=1, resolution=(160, 90))
    assert info.value.argument == "--out"
    assert "--force" in str(info.value)
    simulate(out=out, seconds=0.2, cameras=1, resolution=(160, 90), force=True)
    assert (out / "notes.txt").read_text() == "keep me"  # force replaces only run files
    assert (out / "run.json").is_file()


def test_output_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(SimulationError) as info:
        simulate(out=target, seconds=0.2, cameras=1)
    assert info.value.argument == "--out"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "nope"], "--scenario: unknown scenario 'nope'"),
        (["--cameras", "0"], "--cameras: must be at least 1"),
    ],
)
def test_cli_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               argv: list[str], message: str) -> None:
    code = main(["sim", *argv, "--out", str(tmp_path / "run")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_non_empty_out_and_runs_with_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "x").write_text("x")
    assert main(["sim", "--seconds", "0.4", "--cameras", "1", "--out", str(out)]) == 2
    assert "--out:" in capsys.readouterr().err
    code = main(["sim", "--seconds", "0.4", "--cameras", "1", "--resolution", "160x90",
                 "--out", str(out), "--force", "--no-video"])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "mot/cam-entrance/gt/gt.txt" in printed


def test_cli_requires_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seconds", "1"]) == 2
    assert "--out: is required" in capsys.readouterr().err

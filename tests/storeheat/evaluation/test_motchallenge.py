"""Reading MOTChallenge sequences and result files, and the errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storeheat.evaluation.exceptions import (
    InputMismatchError,
    InvalidInputError,
    MotFormatError,
)
from storeheat.evaluation.motchallenge import (
    read_mot_file,
    read_sequence,
    resolve_sequences,
)


def test_reads_mot15_sequence_with_seqinfo_length(mot15_dir: Path) -> None:
    seq = read_sequence(mot15_dir / "TUD-Campus")
    assert seq.name == "TUD-Campus"
    assert seq.num_frames == 71  # seqinfo.ini; no images shipped
    assert seq.rules == "MOT15"
    assert seq.gt is not None and len(seq.gt) == 359
    assert seq.det is None and seq.image_paths == ()
    assert set(np.unique(seq.gt.cls)) == {-1}  # MOT15 layout has no classes


def test_mot17_mini_trusts_the_images_not_seqlength(mot17_mini_dir: Path) -> None:
    seq = read_sequence(mot17_mini_dir / "MOT17-02-FRCNN")
    assert seq.num_frames == len(seq.image_paths) == 4  # seqinfo says 600
    assert seq.rules == "MOT17"
    assert seq.gt is not None and seq.gt.frame.max() == 4
    assert seq.det is not None and len(seq.det) > 0 and seq.det.frame.max() <= 4
    assert set(np.unique(seq.gt.cls)) <= set(range(1, 14))
    assert seq.image_size == (1920, 1080) and seq.frame_rate == 30.0


def _write(tmp_path: Path, text: str, name: str = "x.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("1,1,0,0,10,10,1\n2,1,0,0,10\n", 2, "at least 6"),
        ("1,1,0,0,10,10,1\n\n2,1,0,zero,10,10,1\n", 3, "non-numeric"),
        ("0,1,0,0,10,10,1\n", 1, "frame must be an integer >= 1"),
        ("1,1,0,0,-3,10,1\n", 1, "width/height"),
        ("1,1.5,0,0,3,10,1\n", 1, "id must be an integer"),
        ("1,1,0,0,10,10,1\n1,2,0,0,10,10,1\n1,1,5,5,10,10,1\n", 3, "appears twice in frame 1"),
    ],
)
def test_malformed_rows_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(MotFormatError) as info:
        read_mot_file(path, kind="result")
    assert info.value.path == path and info.value.line == line
    assert f"{path}:{line}" in str(info.value) and fragment in str(info.value)


def test_detection_files_may_repeat_the_placeholder_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,-1,0,0,10,10,0.9\n1,-1,20,0,10,10,0.8\n")
    rows = read_mot_file(path, kind="det")
    np.testing.assert_allclose(rows.score, [0.9, 0.8])


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MotFormatError, match="file not found") as info:
        read_mot_file(tmp_path / "nope.txt", kind="gt")
    assert info.value.path == tmp_path / "nope.txt"


def test_ground_truth_beyond_the_images_is_an_error(tmp_path: Path) -> None:
    seq = tmp_path / "S1"
    (seq / "gt").mkdir(parents=True)
    (seq / "img1").mkdir()
    (seq / "img1" / "000001.jpg").write_bytes(b"")
    (seq / "gt" / "gt.txt").write_text("1,1,0,0,10,10,1,1,1\n2,1,0,0,10,10,1,1,1\n")
    with pytest.raises(MotFormatError, match="beyond the sequence's 1 frames") as info:
        read_sequence(seq)
    assert info.value.line == 2


def test_resolve_sequences_names_the_argument_at_fault(mot15_dir: Path, tmp_path: Path) -> None:
    results = mot15_dir / "results"
    assert resolve_sequences(mot15_dir, results) == ["TUD-Campus", "TUD-Stadtmitte"]
    assert resolve_sequences(mot15_dir, results, seqs=["TUD-Stadtmitte"]) == ["TUD-Stadtmitte"]
    with pytest.raises(InputMismatchError) as info:
        resolve_sequences(mot15_dir, results, seqs=["TUD-Campus", "MOT17-02"])
    assert info.value.argument == "seqs" and "MOT17-02" in str(info.value)
    (tmp_path / "TUD-Campus.txt").write_text((results / "TUD-Campus.txt").read_text())
    with pytest.raises(InputMismatchError) as info:
        resolve_sequences(mot15_dir, tmp_path)
    assert info.value.argument == "results_dir" and "TUD-Stadtmitte.txt" in str(info.value)
    with pytest.raises(InvalidInputError) as bad:
        resolve_sequences(tmp_path / "missing", results)
    assert bad.value.argument == "gt_dir"


def test_in_memory_rows_validate_their_columns() -> None:
    from storeheat.evaluation.motchallenge import MotRows

    rows = MotRows.from_arrays(frame=[1, 2], track_id=[3, 3], xywh=[[0, 0, 1, 1], [1, 1, 1, 1]])
    assert rows.rules == "MOT15" and len(rows) == 2
    with_classes = MotRows.from_arrays(frame=[1], track_id=[3], xywh=[[0, 0, 1, 1]],
                                       classes=[1])
    assert with_classes.rules == "MOT17"
    with pytest.raises(InvalidInputError) as info:
        MotRows.from_arrays(frame=[1, 2], track_id=[3], xywh=[[0, 0, 1, 1], [1, 1, 1, 1]])
    assert info.value.argument == "track_id"
    with pytest.raises(InvalidInputError) as info:
        MotRows.from_arrays(frame=[1], track_id=[3], xywh=[[0, 0, 1]])
    assert info.value.argument == "xywh"

"""``storeheat eval`` end to end through the storeheat dispatcher."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from storeheat.cli import main


def test_eval_mot_prints_table_and_writes_json(
    mot15_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mot.json"
    rc = main(["eval", "mot", "--gt", str(mot15_dir), "--results", str(mot15_dir / "results"),
               "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:9] == ["sequence", "HOTA", "MOTA", "IDF1", "IDP", "IDR", "IDsw",
                                    "Rcll", "Prcn"]
    pooled = next(line for line in table if line.startswith("POOLED")).split()
    assert pooled[1:7] == ["0.400", "0.555", "0.624", "0.799", "0.512", "14"]
    data = json.loads(out.read_text())
    assert set(data["sequences"]) == {"TUD-Campus", "TUD-Stadtmitte"}
    assert data["pooled"]["id_switches"] == 14
    assert round(data["pooled"]["idf1"], 3) == 0.624


def test_eval_mot_json_to_stdout_for_a_subset(
    mot15_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["eval", "mot", "--gt", str(mot15_dir), "--results", str(mot15_dir / "results"),
               "--seqs", "TUD-Campus", "--json", "-"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["sequences"]) == ["TUD-Campus"]
    assert data["pooled"] == data["sequences"]["TUD-Campus"]


def test_mismatched_sequences_name_the_option(
    mot15_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(mot15_dir / "results" / "TUD-Campus.txt", tmp_path / "TUD-Campus.txt")
    rc = main(["eval", "mot", "--gt", str(mot15_dir), "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "--results:" in err and "TUD-Stadtmitte.txt" in err
    rc = main(["eval", "mot", "--gt", str(mot15_dir), "--results", str(tmp_path),
               "--seqs", "TUD-Campus", "MOT17-02-FRCNN"])
    err = capsys.readouterr().err
    assert rc == 2 and "--seqs:" in err and "MOT17-02-FRCNN" in err
    rc = main(["eval", "mot", "--gt", str(tmp_path / "nowhere"), "--results", str(tmp_path)])
    assert rc == 2 and "--gt:" in capsys.readouterr().err


def test_malformed_result_file_names_file_and_line(
    mot15_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (mot15_dir / "results" / "TUD-Campus.txt").read_text().splitlines()
    lines[4] = "5,3,116.37,oops,62.858,142.64,-1,-1,-1,-1"
    (tmp_path / "TUD-Campus.txt").write_text("\n".join(lines) + "\n")
    rc = main(["eval", "mot", "--gt", str(mot15_dir), "--results", str(tmp_path),
               "--seqs", "TUD-Campus"])
    assert rc == 2 and f"{tmp_path / 'TUD-Campus.txt'}:5" in capsys.readouterr().err


def test_eval_detections_on_public_detections(
    mot17_mini_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["eval", "detections", "--gt", str(mot17_mini_dir), "--seqs", "MOT17-02-FRCNN",
               "MOT17-05-FRCNN", "--min-confidence", "0.5", "--json", "-"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["min_confidence"] == 0.5
    assert 0 < data["pooled"]["ap50"] < 1 and 0 < data["pooled"]["recall"] < 1
    assert data["pooled"]["gt_boxes"] == sum(s["gt_boxes"] for s in data["sequences"].values())


def test_eval_detections_missing_det_dir_file(
    mot17_mini_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["eval", "detections", "--gt", str(mot17_mini_dir), "--dets", str(tmp_path),
               "--seqs", "MOT17-02-FRCNN"])
    assert rc == 2 and "--dets:" in capsys.readouterr().err


def test_eval_heatmap_and_dwell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = np.array([[4.0, 0.0], [1.0, 5.0]])
    np.save(tmp_path / "t.npy", truth)
    np.save(tmp_path / "m.npy", truth * 0.5)
    assert main(["eval", "heatmap", "--measured", str(tmp_path / "m.npy"),
                 "--truth", str(tmp_path / "t.npy"), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["normalised_l1"] == pytest.approx(0.5) and data["pearson_r"] == pytest.approx(1)
    np.save(tmp_path / "bad.npy", np.zeros((3, 2)))
    assert main(["eval", "heatmap", "--measured", str(tmp_path / "bad.npy"),
                 "--truth", str(tmp_path / "t.npy")]) == 2
    assert "--measured:" in capsys.readouterr().err

    visits = [{"zone_id": "a", "person_id": 1, "enter": 0, "exit": 10}]
    (tmp_path / "v.json").write_text(json.dumps(visits))
    (tmp_path / "v.csv").write_text("zone_id,track_id,enter,exit\na,9,0,8\n")
    assert main(["eval", "dwell", "--measured", str(tmp_path / "v.csv"),
                 "--truth", str(tmp_path / "v.json"), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mean_dwell_mae_s"] == pytest.approx(2.0) and data["visitor_count_error"] == 0
    assert main(["eval", "dwell", "--measured", str(tmp_path / "v.txt"),
                 "--truth", str(tmp_path / "v.json")]) == 2
    assert "--measured:" in capsys.readouterr().err

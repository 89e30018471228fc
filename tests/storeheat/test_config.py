"""Store config: the example loads; bad files are rejected with file, key path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from data_contracts.topics import DETECTIONS
from storeheat.config import (
    dump_store_config,
    load_store_config,
    parse_store_config,
)
from storeheat.exceptions import ConfigError
from storeheat.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "configs" / "demo-store.yaml"


@pytest.fixture()
def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_example_store_loads_with_accurate_calibration() -> None:
    cfg = load_store_config(EXAMPLE)
    assert cfg.store_id == "demo-store"
    assert len(cfg.cameras) >= 3
    for cam in cfg.cameras:
        assert cam.homography.reprojection_error_m < 0.05, cam.id
    assert cfg.zone_of([[1, 1]]) == ["entrance"]


def test_dump_and_reload_is_identical(tmp_path: Path) -> None:
    cfg = load_store_config(EXAMPLE)
    path = tmp_path / "store.yaml"
    path.write_text(dump_store_config(cfg))
    assert load_store_config(path) == cfg


def _break(data: dict, path: str, value: object) -> dict:
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "key", "reason"),
    [
        ("floor.widht_m", 3, "floor.widht_m",
         "unknown key; valid keys here: ['depth_m', 'width_m']"),
        ("floor.width_m", -1, "floor.width_m", "greater than 0"),
        ("zones.0.polygon", [[0, 0], [50, 0], [50, 3]], "zones.0.polygon", "outside"),
        ("zones.1.polygon", [[0, 0], [1, 1], [2, 2]], "zones.1.polygon", "zero area"),
        ("cameras.1.id", "cam-entrance", "cameras.1.id", "duplicate id 'cam-entrance'"),
        (
            "cameras.0.calibration",
            [{"image": [0, 0], "floor": [0, 0]}, {"image": [1, 1], "floor": [1, 1]},
             {"image": [2, 2], "floor": [2, 2]}, {"image": [3, 3], "floor": [3, 3]}],
            "cameras.0",
            "collinear",
        ),
        ("cameras.0.calibration.0.image", [9000, 10], "cameras.0", "outside the 640x360 frame"),
        ("cameras.0.calibration.0.floor", [1.0, 3.0], "cameras.0", "reprojection error"),
        ("cameras.0.fps", 0, "cameras.0.fps", "greater than 0"),
        ("kafka", {"topics": {"storeheat.nope.v1": {"partitions": 2}}}, "kafka.topics",
         "unknown topic"),
    ],
)
def test_rejections(example: dict, path: str, value: object, key: str, reason: str) -> None:
    data = _break(example, path, value)
    with pytest.raises(ConfigError) as info:
        parse_store_config(data, source="store.yaml")
    message = str(info.value)
    assert message.startswith(f"store.yaml: {key}"), message
    assert reason in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("store_id: x\nfloor: {width_m: 3\nzones: []\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_store_config(bad)


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.yaml: cannot read"):
        load_store_config(tmp_path / "missing.yaml")


def test_topic_overrides_and_env(example: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    example["kafka"] = {"bootstrap_servers": "k1:9092",
                        "topics": {DETECTIONS.name: {"partitions": 12}}}
    cfg = parse_store_config(example)
    specs = {s.name: s for s in cfg.kafka.topic_specs()}
    assert specs[DETECTIONS.name].partitions == 12
    assert specs[DETECTIONS.name].retention_hours == DETECTIONS.retention_hours
    assert cfg.kafka.resolved_bootstrap() == "k1:9092"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "other:1")
    assert cfg.kafka.resolved_bootstrap() == "other:1"
    monkeypatch.setenv("STOREHEAT_LAKE_ROOT", "s3a://bucket/lake")
    assert cfg.storage.resolved_lake_root() == "s3a://bucket/lake"

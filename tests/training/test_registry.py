"""Registry: versions count up, promotion only on improvement, corrupt files are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.exceptions import RegistryError
from training.registry import Registry


def _weights(root: Path, name: str) -> Path:
    p = root / "weights" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(name.encode())
    return p


def test_register_and_promote_only_when_better(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry.json")
    v1 = reg.register(name="person", weights=_weights(tmp_path, "a.onnx"), sha256="a",
                      metrics={"map50": 0.60})
    v2 = reg.register(name="person", weights=_weights(tmp_path, "b.onnx"), sha256="b",
                      metrics={"map50": 0.55})
    v3 = reg.register(name="person", weights=_weights(tmp_path, "c.onnx"), sha256="c",
                      metrics={"map50": 0.70})
    assert [v1.version, v2.version, v3.version] == [1, 2, 3]
    assert reg.production("person") is None
    assert reg.promote("person", 1) is True
    assert reg.promote("person", 2) is False  # worse: production stays v1
    assert reg.production("person").version == 1  # type: ignore[union-attr]
    assert reg.promote("person", 3, min_gain=0.05) is True
    stages = {m.version: m.stage for m in reg.load()}
    assert stages == {1: "archived", 2: "candidate", 3: "production"}
    assert reg.resolve_weights("person") == tmp_path / "weights" / "c.onnx"


def test_errors_name_the_file_and_version(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry.json")
    with pytest.raises(RegistryError, match="no model 'x' version 1"):
        reg.promote("x", 1)
    with pytest.raises(RegistryError, match="must live under"):
        reg.register(name="x", weights=Path("/elsewhere.onnx"), sha256="", metrics={})
    (tmp_path / "registry.json").write_text("{not json")
    with pytest.raises(RegistryError, match="registry.json is unreadable"):
        reg.load()

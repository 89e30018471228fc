"""A small file-based model registry with an explicit promotion rule.

The registry is one JSON file (``models/registry.json``) listing every registered detector
version with its weights file, hash, validation metrics and stage. The weights themselves are
versioned with DVC; the registry records which file and hash a version means. A candidate is
promoted to ``production`` only when it beats the current production model on the same
validation metric by at least ``min_gain`` — so a retraining that got worse never ships.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from training.exceptions import RegistryError

Stage = Literal["candidate", "production", "archived"]


@dataclass(frozen=True)
class ModelVersion:
    """One registered detector.

    Attributes:
        name: Model family (e.g. ``person-sim``).
        version: 1, 2, ... within the name.
        path: Weights file, relative to the registry file's folder.
        sha256: Hash of the weights file (what the worker stamps as model version).
        metrics: Validation figures (``map50``, ``recall``, ...).
        stage: candidate, production or archived.
        registered_at: ISO 8601 UTC time of registration.
    """

    name: str
    version: int
    path: str
    sha256: str
    metrics: dict[str, Any]
    stage: Stage = "candidate"
    registered_at: str = field(default="")


@dataclass(frozen=True)
class Registry:
    """Read/write access to a registry file. Writes are atomic (temp file + rename)."""

    path: Path

    def load(self) -> list[ModelVersion]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text())
            return [ModelVersion(**item) for item in raw["models"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"model registry {self.path} is unreadable: {exc}") from None

    def _save(self, models: list[ModelVersion]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"models": [asdict(m) for m in models]}, indent=2) + "\n")
        os.replace(tmp, self.path)

    def register(self, *, name: str, weights: Path, sha256: str,
                 metrics: dict[str, Any], registered_at: datetime | None = None) -> ModelVersion:
        """Add a candidate version of ``name`` for ``weights``; returns it."""
        models = self.load()
        weights = weights.resolve()
        try:
            rel = weights.relative_to(self.path.parent.resolve())
        except ValueError:
            raise RegistryError(
                f"weights {weights} must live under the registry folder {self.path.parent}"
            ) from None
        version = 1 + max((m.version for m in models if m.name == name), default=0)
        when = (registered_at or datetime.now(UTC)).isoformat()
        entry = ModelVersion(name=name, version=version, path=str(rel), sha256=sha256,
                             metrics=metrics, stage="candidate", registered_at=when)
        self._save([*models, entry])
        return entry

    def production(self, name: str) -> ModelVersion | None:
        """The current production version of ``name``, if any."""
        prod = [m for m in self.load() if m.name == name and m.stage == "production"]
        return prod[-1] if prod else None

    def promote(self, name: str, version: int, *, metric: str = "map50",
                min_gain: float = 0.0) -> bool:
        """Promote ``name`` v``version`` if it beats production on ``metric`` by ``min_gain``.

        Returns:
            True when promoted (the previous production version is archived), else False.

        Raises:
            RegistryError: the version does not exist or lacks the metric.
        """
        models = self.load()
        cand = next((m for m in models if m.name == name and m.version == version), None)
        if cand is None:
            raise RegistryError(f"{self.path}: no model {name!r} version {version}")
        if metric not in cand.metrics:
            raise RegistryError(f"{self.path}: {name} v{version} has no metric {metric!r}")
        current = self.production(name)
        if current is not None and current.version == version:
            return True
        if current is not None and not (
            float(cand.metrics[metric]) >= float(current.metrics.get(metric, 0.0)) + min_gain
        ):
            return False
        updated = []
        for m in models:
            if m.name == name and m.stage == "production":
                m = replace(m, stage="archived")
            if m is cand or (m.name == name and m.version == version):
                m = replace(m, stage="production")
            updated.append(m)
        self._save(updated)
        return True

    def resolve_weights(self, name: str) -> Path:
        """Path of the production weights of ``name`` (raises if none is promoted)."""
        prod = self.production(name)
        if prod is None:
            raise RegistryError(f"{self.path}: no production version of {name!r}")
        return self.path.parent / prod.path


def main(argv: list[str] | None = None) -> int:
    """``python -m training.registry --name N --weights W --metrics M [--promote]``."""
    import argparse

    from training.train import file_sha256

    parser = argparse.ArgumentParser(description="Register (and maybe promote) a model.")
    parser.add_argument("--registry", type=Path, default=Path("models/registry.json"))
    parser.add_argument("--name", required=True)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json of the run")
    parser.add_argument("--promote", action="store_true",
                        help="promote if it beats production on map50")
    args = parser.parse_args(argv)
    reg = Registry(args.registry)
    try:
        metrics = json.loads(args.metrics.read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"metrics file {args.metrics} is unreadable: {exc}") from None
    sha = file_sha256(args.weights)
    existing = [m for m in reg.load() if m.name == args.name and m.sha256 == sha]
    entry = existing[-1] if existing else reg.register(
        name=args.name, weights=args.weights, sha256=sha,
        metrics={k: metrics[k] for k in ("precision", "recall", "map50", "map50_95")})
    print(f"{entry.name} v{entry.version}: {args.weights} ({sha[:12]}), "
          f"map50 {entry.metrics['map50']:.3f}")
    if args.promote:
        promoted = reg.promote(entry.name, entry.version)
        print("promoted to production" if promoted else "kept production (not better)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

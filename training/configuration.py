"""Configuration of a detector training run."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class TrainConfig(BaseModel):
    """One Ultralytics training run of the person detector, on CPU.

    Attributes are documented where declared; unknown keys are rejected.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: Path = Field(description="YOLO data.yaml (train/val image folders, names: person).")
    out_dir: Path = Field(description="Folder for this run's weights, metrics and ONNX export.")
    architecture: str = Field(
        default="yolo11n.yaml",
        description="Ultralytics model YAML (built untrained, offline) or a .pt to fine-tune.",
    )
    imgsz: int = Field(default=320, ge=64, le=1280, description="Training/inference size.")
    epochs: int = Field(default=30, ge=1, le=1000, description="Training epochs.")
    batch: int = Field(default=16, ge=1, le=256, description="Batch size.")
    patience: int = Field(default=10, ge=1, description="Early-stop patience, epochs.")
    seed: int = Field(default=0, description="Random seed for Ultralytics (deterministic).")
    workers: int = Field(default=0, ge=0, description="Dataloader workers (0: main process).")
    name: str = Field(default="person-sim", description="Model name in the registry.")

"""Named augmentation pipelines: a list of ops from ``recipes/augment/<name>.yaml`` (or a dict), applied
to a ClipDataset item with every random value drawn from one seed.

A config is data: ``{ops: [{name: hflip, p: 0.5}, {name: color_jitter, brightness: 0.3}, …]}``; op names
come from the ``AUGMENTATIONS`` registry (did-you-mean on a typo), parameters are validated by each
op's model, and nothing is imported or instantiated from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError

from ..errors import UserError, model_problems
from .ops import AUGMENTATIONS, Op
from .warp import warp_item

__all__ = ["Pipeline", "load_pipeline", "pipeline_names"]


def pipeline_names() -> list[str]:
    from ..recipe.loading import config_dir

    return sorted(p.stem for p in (config_dir() / "augment").glob("*.yaml"))


@dataclass
class Pipeline:
    name: str
    ops: list[Op]

    @property
    def maps_needed(self) -> tuple[str, ...]:
        """Maps the ops cannot do without: depth for weather and night (a dataset without it is refused)."""
        return ("depth",) if any(op.kind == "depth" for op in self.ops) else ()

    @property
    def maps_optional(self) -> tuple[str, ...]:
        """Maps the ops use when the dataset has them: the instance map, so boxes follow the geometry
        exactly (without it their corners are transformed)."""
        return ("instance",) if any(op.kind == "geometric" for op in self.ops) else ()

    def __call__(self, item: tuple[torch.Tensor, dict], seed: int) -> tuple[torch.Tensor, dict]:
        return self.apply_item(item, seed)

    def apply_item(self, item: tuple[torch.Tensor, dict], seed: int) -> tuple[torch.Tensor, dict]:
        """``(video (T,3,H,W) uint8, labels)`` → the augmented item; the same seed gives the same bytes."""
        video, labels = item
        if not self.ops:
            return video, labels
        rng = np.random.default_rng(seed)
        T, _, H, W = video.shape
        out, lab = video, dict(labels)
        A = None  # consecutive geometric ops' warps, multiplied: the clip and its labels are resampled once
        for op in self.ops:
            on = rng.random() < op.params.p  # drawn for every op, so one op's p never shifts another's draws
            draw = op.sample(rng, T, H, W)
            if not on:
                continue
            if op.kind == "geometric":
                B = op.homography(draw, T, H, W).to(torch.float64)
                A = B if A is None else B @ A
                continue
            if A is not None:  # pixel ops see the warped clip (and depth ops its warped depth)
                (out, lab), A = warp_item(out, lab, A), None
            x = op.apply(out.float() / 255.0, lab, draw)
            out = (x * 255).round().clamp(0, 255).to(video.dtype)
        return warp_item(out, lab, A) if A is not None else (out, lab)


def _build(name: str, cfg: Any, field: str) -> Pipeline:
    if not isinstance(cfg, dict) or not isinstance(cfg.get("ops", []), list) or set(cfg) - {"ops", "description"}:
        raise UserError(field, "expected a mapping {ops: [{name: <op>, …}, …]}")
    ops = []
    for i, entry in enumerate(cfg.get("ops") or []):
        where = f"{field}.ops.{i}"
        if not isinstance(entry, dict) or "name" not in entry:
            raise UserError(where, "expected {name: <op>, <param>: <value>, …}")
        params = {k: v for k, v in entry.items() if k != "name"}
        cls = AUGMENTATIONS.get(entry["name"], f"{where}.name")
        try:
            ops.append(cls(**params))
        except ValidationError as exc:
            raise UserError(*model_problems(exc, where).problems[0]) from None
    return Pipeline(name, ops)


def load_pipeline(spec: str | dict | Pipeline, field: str = "augment") -> Pipeline:
    """A shipped pipeline by name (``recipes/augment/<name>.yaml``), a dict, or a Pipeline."""
    if isinstance(spec, Pipeline):
        return spec
    if isinstance(spec, dict):
        return _build("custom", spec, field)
    names = pipeline_names()
    if spec not in names:
        from ..errors import did_you_mean

        raise UserError(field, f"unknown augmentation pipeline {spec!r}{did_you_mean(spec, names)}; expected one of "
                               f"{', '.join(names)}")
    from ..recipe.loading import config_dir
    from ..recipe.yamlsafe import load_yaml

    return _build(spec, load_yaml(config_dir() / "augment" / f"{spec}.yaml") or {"ops": []}, field)

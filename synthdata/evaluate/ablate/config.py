"""``AblationSpec``: what an ablation compares, validated before anything trains.

An ablation trains one downstream ``task`` per **arm** × **seed** and scores every run on one
evaluation set. An arm is a training-data mix (named datasets with mixing weights: ``real: 1`` plus
``synthetic: 0.5`` draws two real clips for every synthetic one) and an augmentation pipeline. Every arm
gets the same ``budget`` (optimizer steps × batch): the published pitfall is a baseline trained for
less (Dream4Drive, arXiv 2510.19195), so unequal budgets are refused unless ``allow_unequal_budget``.

Values come from a YAML file (bounded loader, no resolvers, no ``_target_``) plus ``key=value``
overrides; paths in it are resolved against the file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...errors import DEVICE_PATTERN, UserError, check_device, model_problems
from ...errors import user_path
from ...io.safety import SAFE_ID

__all__ = ["AblationSpec", "ArmSpec", "BudgetSpec", "DataRef", "EvalRef", "TaskRef", "load_ablation"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BudgetSpec(_Model):
    """Training compute of one run: ``steps`` optimizer steps of ``batch`` clips (samples seen =
    steps × batch), AdamW at ``lr``."""

    steps: int = Field(200, ge=1, le=10_000_000)
    batch: int = Field(4, ge=1, le=4096)
    lr: float = Field(1e-3, gt=0, le=1.0)

    @property
    def samples(self) -> int:
        return self.steps * self.batch


class TaskRef(_Model):
    """A downstream task by registry name (``synthdata.tasks``), its model size and settings."""

    name: str = "segment"
    size: str = "tiny"
    settings: dict[str, Any] = Field(default_factory=dict)


class ArmSpec(_Model):
    """One arm: ``data`` maps dataset names (keys of ``datasets``) to mixing weights > 0;
    ``augment`` names a pipeline of ``recipes/augment/`` or is one inline (``{ops: [...]}``); ``budget``
    overrides the shared one (refused unless ``allow_unequal_budget``)."""

    name: str = Field(pattern=SAFE_ID.pattern)
    data: dict[str, float]
    augment: str | dict[str, Any] = "none"
    budget: Optional[BudgetSpec] = None

    @field_validator("data")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("an arm needs at least one dataset, e.g. {real: 1.0}")
        bad = {k: w for k, w in v.items() if not w > 0}
        if bad:
            raise ValueError(f"mixing weights must be > 0, got {bad}")
        return v


class BootstrapSpec(_Model):
    """The paired bootstrap of the report (synthdata/evaluate/stats.py). ``resamples`` ≥ 1000: the
    interval's 2.5/97.5 percentiles come from its tails, which fewer resamples leave noisy."""

    resamples: int = Field(2000, ge=1000, le=1_000_000)
    level: float = Field(0.95, gt=0.5, lt=1.0)
    strata: Literal["none", "source", "class"] = "class"


Split = Literal["train", "val", "test"]


class DataRef(_Model):
    """A dataset folder, whole (``split: null``) or the clips of one split (the clips table's ``split``
    column). In YAML a plain path is ``{path: …}``."""

    path: str
    split: Optional[Split] = None

    @property
    def key(self) -> str:
        """The reference as one string (run cache keys): the path, with ``#split`` when it has one."""
        return self.path if self.split is None else f"{self.path}#{self.split}"


class EvalRef(_Model):
    """The evaluation set: a dataset of ``datasets`` by name, or a folder by path, whole or one split.
    In YAML a plain string is a name when ``datasets`` has it, else a path."""

    dataset: Optional[str] = None
    path: Optional[str] = None
    split: Optional[Split] = None

    @model_validator(mode="after")
    def _one(self) -> "EvalRef":
        if (self.dataset is None) == (self.path is None):
            raise ValueError("expected exactly one of dataset (a name in datasets) or path")
        return self


class AblationSpec(_Model):
    """See the module docstring; docs/evaluation.md has a worked example."""

    name: str = Field("ablation", pattern=SAFE_ID.pattern)
    task: TaskRef = TaskRef()
    datasets: dict[str, DataRef]
    eval: EvalRef
    arms: list[ArmSpec] = Field(min_length=2)
    baseline: Optional[str] = None
    budget: BudgetSpec = BudgetSpec()
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    bootstrap: BootstrapSpec = BootstrapSpec()
    allow_unequal_budget: bool = False
    allow_few_seeds: bool = False
    device: Annotated[str, AfterValidator(check_device)] = Field("auto", json_schema_extra={"pattern": DEVICE_PATTERN})
    eval_every: int = Field(0, ge=0)  # learning curves: also score every N steps (0: loss curve only)
    fiftyone: bool = False  # put each arm's predictions into the evaluation set's FiftyOne dataset
    distances: bool = False  # video distances (FVD, KID) of each training dataset to the evaluation set
    distance_steps: int = Field(200, ge=1, le=1_000_000)  # training steps of the contrastive encoder

    @model_validator(mode="before")
    @classmethod
    def _plain_refs(cls, data: Any) -> Any:
        """Plain strings: a dataset's path, the evaluation set's name (one of ``datasets``) or path."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        if isinstance(out.get("datasets"), dict):
            out["datasets"] = {k: {"path": v} if isinstance(v, str) else v for k, v in out["datasets"].items()}
        ev = out.get("eval")
        if isinstance(ev, str):
            out["eval"] = {"dataset": ev} if ev in (out.get("datasets") or {}) else {"path": ev}
        return out

    @field_validator("datasets")
    @classmethod
    def _names(cls, v: dict[str, DataRef]) -> dict[str, DataRef]:
        for name in v:
            if not SAFE_ID.match(name):
                raise ValueError(f"dataset names are ids (letters, digits, '._-'), got {name!r}")
        return v

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                raise ValueError(f"expected a count of seeds ≥ 1 or a list of seeds, got {v}")
            return list(range(v))  # `seeds: 3` means 0, 1, 2
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "AblationSpec":
        """Cross-field rules; each message starts with the field it is about (see :func:`_where`)."""
        if self.eval.dataset is not None and self.eval.dataset not in self.datasets:
            raise ValueError(f"eval.dataset|{self.eval.dataset!r} is not in datasets; expected one of "
                             f"{', '.join(self.datasets)} (or eval.path)")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arms|arm names must be unique, got {names}")
        if self.baseline is not None and self.baseline not in names:
            raise ValueError(f"baseline|{self.baseline!r} is not an arm; expected one of {', '.join(names)}")
        for i, arm in enumerate(self.arms):
            unknown = [d for d in arm.data if d not in self.datasets]
            if unknown:
                raise ValueError(f"arms.{i}.data|arm {arm.name!r} uses {unknown}, which are not in datasets "
                                 f"({', '.join(self.datasets)})")
        if len(set(self.seeds)) != len(self.seeds) or any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds|seeds must be distinct and ≥ 0, got {self.seeds}")
        if len(self.seeds) < 3 and not self.allow_few_seeds:
            raise ValueError(f"seeds|{len(self.seeds)} seed(s) per arm cannot give an interval a reviewer trusts; "
                             "use ≥ 3 (or allow_few_seeds: true)")
        return self

    @property
    def eval_ref(self) -> DataRef:
        """The evaluation set as a folder and split: a named dataset's folder and split (eval's own split
        when it gives one), or a path and eval's split."""
        ev = self.eval
        if ev.dataset is None:
            return DataRef(path=ev.path, split=ev.split)
        named = self.datasets[ev.dataset]
        return DataRef(path=named.path, split=ev.split if ev.split is not None else named.split)

    @property
    def eval_name(self) -> str:
        """The evaluation set's name: a dataset's, or (a path) ``eval:<path>``, which no dataset name can
        take (names have no ':'), so a training set named "eval" is not taken for it."""
        return self.eval.dataset if self.eval.dataset is not None else f"eval:{self.eval.path}"

    @property
    def baseline_arm(self) -> str:
        return self.baseline or self.arms[0].name

    def budget_of(self, arm: ArmSpec) -> BudgetSpec:
        return arm.budget or self.budget


def _where(exc: ValidationError) -> UserError:
    """The first problem as one line; cross-field problems (``field|message``) name their field."""
    first = exc.errors()[0]
    if not first["loc"] and "|" in first["msg"]:
        field, _, message = first["msg"].removeprefix("Value error, ").partition("|")
        return UserError(field, message)
    return UserError(*model_problems(exc, "").problems[0])


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Dataset paths relative to the config file; ``eval`` may name a dataset or be a path."""
    out = AblationSpec._plain_refs(data)

    def resolved(ref: Any) -> Any:
        if isinstance(ref, dict) and isinstance(ref.get("path"), str):
            return {**ref, "path": str((base / ref["path"]).resolve())}
        return ref
    if isinstance(out.get("datasets"), dict):
        out["datasets"] = {k: resolved(v) for k, v in out["datasets"].items()}
    out["eval"] = resolved(out.get("eval"))
    return out


def load_ablation(config: str | Path | dict[str, Any] | AblationSpec, overrides: Sequence[str] = ()) -> AblationSpec:
    """A YAML file, a dict or a spec, plus ``key=value`` / ``a.b=value`` overrides → :class:`AblationSpec`."""
    if isinstance(config, AblationSpec):
        if overrides:
            raise UserError("overrides", "apply overrides when loading a file or dict, not to an AblationSpec")
        return config
    from ...recipe.loading import _parse_override, _set_in  # the recipe's override grammar, reused
    from ...recipe.yamlsafe import load_yaml

    if isinstance(config, dict):
        data, base = dict(config), Path.cwd()
    else:
        path = user_path(config, "config")
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            raise UserError("config", f"expected an ablation .yaml file, got {str(config)!r}")
        data, base = load_yaml(path, where=str(config)), path.parent
        if not isinstance(data, dict):
            raise UserError(str(config), "expected a mapping of ablation fields")
    for o in overrides:
        kind, key, value = _parse_override(o)
        if kind != "set":
            raise UserError(key or o, "expected key=value")
        data = _set_in(data, key.split("."), "", lambda old, v=value: v)
    try:
        return AblationSpec.model_validate(_resolve_paths(data, base))
    except ValidationError as exc:
        raise _where(exc) from None

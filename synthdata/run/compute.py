"""How a run is executed: the ``compute`` settings (not part of the recipe: they never change bytes).

``compute=local`` (the CLI's default) starts an embedded Dask cluster; ``compute.address=tcp://…`` uses
an existing one; ``compute=threads`` (the Python API's default) runs shards on threads in this process;
``compute=sync`` runs them one after another in this process. Values come from ``recipes/compute/<name>.yaml`` plus
``compute.<field>=value`` overrides.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UserError, model_problems, shown
from ..configs import config_dir

__all__ = ["ComputeSpec", "load_compute"]


class ComputeSpec(BaseModel):
    """Execution settings. ``workers``/``gpus`` ``auto``: one worker per GPU when CUDA is present,
    else one single-threaded worker per CPU core."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["local", "threads", "sync"] = "local"
    address: str | None = Field(None, pattern=r"^(tcp|tls|ucx|inproc|ws|wss)://\S+$")
    workers: int | Literal["auto"] = "auto"
    threads_per_worker: int = Field(1, ge=1, le=256)
    gpus: int | Literal["auto"] = "auto"
    shard_size: int | Literal["auto"] = "auto"  # clips per shard; auto: run.plan.auto_shard_size
    retries: int = Field(2, ge=0, le=100)
    max_in_flight: int | None = Field(None, ge=1, le=100_000)
    memory_limit: str = "auto"
    overlap: bool | Literal["auto"] = "auto"
    force: bool = False  # skip the memory and core-count checks (synthdata.run.memory)
    #: clips of more pixels (frames × width × height) are made in windows of about this many, when the
    #: recipe allows (synthdata.run.windows; memory then bounded by a window); auto: WINDOW_PIXELS (2²³)
    window_pixels: int | Literal["auto"] = "auto"
    dashboard: str | None = Field(None, pattern=r"^[A-Za-z0-9.\-]*:\d{1,5}$")  # e.g. ":8787"; None: no dashboard

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory_limit(cls, v: Any) -> Any:
        """Dask's grammar: ``auto``, a size (``4GiB``, ``512MB``, bytes) or a fraction of RAM in (0, 1]."""
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ValueError(f"expected 'auto', a size such as 4GiB, or a fraction of memory in (0, 1], got {shown(v)}")
        if str(v).strip().lower() == "auto":
            return "auto"
        if _limit_bytes(str(v)) is None:
            raise ValueError(f"expected 'auto', a size such as 4GiB, or a fraction of memory in (0, 1], got {shown(v)}")
        return str(v)

    def memory_limit_bytes(self) -> int | None:
        """The per-worker limit in bytes (None for ``auto``)."""
        return None if self.memory_limit == "auto" else _limit_bytes(self.memory_limit)

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, v: Any) -> Any:
        return _auto_or_count(v, 1, 4096)

    @field_validator("shard_size", mode="before")
    @classmethod
    def _shard_size(cls, v: Any) -> Any:
        if v == "auto":
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000:
            raise ValueError(f"expected 'auto' or a whole number from 1 to 10000, got {shown(v)}")
        return v

    @field_validator("overlap", mode="before")
    @classmethod
    def _overlap(cls, v: Any) -> Any:
        if v == "auto" or isinstance(v, bool):
            return v
        raise ValueError(f"expected auto, true or false, got {shown(v)}")

    @field_validator("window_pixels", mode="before")
    @classmethod
    def _window_pixels(cls, v: Any) -> Any:
        if v == "auto":
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 2**40:
            raise ValueError(f"expected 'auto' or a whole number of pixels from 1 to 2^40, got {shown(v)}")
        return v

    def window_pixels_value(self) -> int:
        """``window_pixels`` as a number (``auto``: run.windows.WINDOW_PIXELS)."""
        from .windows import WINDOW_PIXELS

        return WINDOW_PIXELS if self.window_pixels == "auto" else int(self.window_pixels)

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpus(cls, v: Any) -> Any:
        return _auto_or_count(v, 0, 1024)

    def num_gpus(self) -> int:
        """GPUs to use for an embedded cluster (0 means CPU workers)."""
        if self.gpus != "auto":
            return int(self.gpus)
        from ..render.device import cuda_device_count

        return cuda_device_count()

    def check_cores(self) -> None:
        """Refuse more local workers × threads than the machine has cores (GPUs for GPU workers), unless
        ``force``. Needs no recipe, so the CLI checks it before it starts the cluster (run/memory.py
        checks it with the rest). GPUs the machine lacks are refused even with ``force``: a "GPU" worker
        without one renders on the CPU, several times slower than the CPU workers would."""
        if self.name == "local" and not self.address and self.gpus != "auto" and int(self.gpus) > 0:
            from ..render.device import cuda_device_count

            have = cuda_device_count()
            if int(self.gpus) > have:
                raise UserError("compute.gpus", f"expected at most this machine's {have} CUDA GPU(s), got {self.gpus}; "
                                                "leave it auto (0 here: CPU workers) or run where the GPUs are")
        if self.force or self.name != "local" or self.address or self.workers == "auto":
            return
        gpus = self.num_gpus()
        have = gpus if gpus else (os.cpu_count() or 1)
        need = int(self.workers) * (1 if gpus else self.threads_per_worker)
        if need > have:
            what = f"{gpus} GPU(s)" if gpus else f"{have} CPU core(s)"
            raise UserError("compute.workers", f"{self.workers} worker(s) × {self.threads_per_worker} thread(s) "
                                               f"exceed this machine's {what}; lower it or pass compute.force=true")

    def num_workers(self) -> int:
        if self.workers != "auto":
            return int(self.workers)
        gpus = self.num_gpus()
        return gpus if gpus else max(1, (os.cpu_count() or 1) // self.threads_per_worker)


def _auto_or_count(v: Any, lo: int, hi: int) -> Any:
    """``auto`` or a whole number in [lo, hi] (as typed: ``4`` or ``"4"``); else one clear message."""
    if v == "auto":
        return v
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"expected 'auto' or a whole number from {lo} to {hi}, got {shown(v)}")
    return v


def _limit_bytes(text: str) -> int | None:
    from dask.utils import parse_bytes

    try:
        f = float(text)
    except ValueError:
        f = None
    if f is not None and 0 < f <= 1:
        import psutil

        return int(f * psutil.virtual_memory().total)
    try:
        n = parse_bytes(text)
    except (ValueError, TypeError):
        return None
    return int(n) if n >= 2**20 else None  # a worker cannot run in under a MiB


def load_compute(name: str = "local", overrides: list[str] | tuple[str, ...] = ()) -> ComputeSpec:
    """``recipes/compute/<name>.yaml`` merged with ``field=value`` overrides (``compute.`` prefix optional)."""
    path = config_dir() / "compute" / f"{name}.yaml"
    choices = sorted(p.stem for p in (config_dir() / "compute").glob("*.yaml"))
    if not name.replace("_", "").isalnum() or not path.is_file():
        raise UserError("compute", f"unknown compute config {name!r}; expected one of {', '.join(choices)}")
    cfg = OmegaConf.load(path)
    for o in overrides:
        key = o.split("=")[0].removeprefix("compute.")
        if "${" in o:  # settings are data too: no resolvers (environment), no interpolation
            raise UserError(f"compute.{key}", "interpolations (${...}) are not allowed; write the value itself")
        try:
            extra = OmegaConf.from_dotlist([o.removeprefix("compute.")])
            cfg = OmegaConf.merge(cfg, extra)
        except Exception as exc:  # YAML or grammar errors in the value
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"compute.{key}", f"could not parse the value ({first})") from None
    try:
        data = OmegaConf.to_container(cfg, resolve=False)
    except OmegaConfBaseException as exc:
        raise UserError("compute", str(exc).splitlines()[0]) from None
    try:
        return ComputeSpec.model_validate(data)
    except ValidationError as exc:
        raise model_problems(exc, "compute", ComputeSpec) from None

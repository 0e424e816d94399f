"""The resume state of ``train-generator`` without pickle: ``training/state.safetensors``.

Checkpoints are meant to be shared, and unpickling a file runs whatever code it names, so nothing in
a checkpoint is ever unpickled. The state (raw and EMA weights, AdamW moments, LR schedule, step, the
random generator, the loss log) is one safetensors file: every tensor in its body, and a JSON index of
the rest in the file's own header metadata, so tensors and index are written in one atomic rename and
can never disagree.

Nested dicts, lists and tuples of tensors and JSON scalars (what ``state_dict()`` of an optimizer or an
LR scheduler holds) are flattened: a tensor becomes ``{"$tensor": name}`` in the index and ``name`` in
the body; a tuple ``{"$tuple": [...]}``; a dict whose keys are not all strings (AdamW's per-parameter
state is keyed by int) ``{"$dict": [[key, value], ...]}``. Decoding builds only those types, so a
crafted file can at worst be refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..io.atomic import atomic_path

__all__ = ["STATE_FILE", "LEGACY_STATE_FILE", "save_state", "load_state"]

STATE_FILE = "state.safetensors"
#: what synthdata wrote before 0.x: a pickle, refused by name (never opened)
LEGACY_STATE_FILE = "state.pt"
_FORMAT = "synthdata-training-state"
_VERSION = "1"
_SCALARS = (str, int, float, bool, type(None))


def _encode(obj: Any, path: str, tensors: dict[str, torch.Tensor], seen: set) -> Any:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)) if t.numel() else None
        if key in seen or not t.is_contiguous():  # safetensors refuses shared or strided storage
            t = t.contiguous().clone()
        seen.add(key)
        tensors[path] = t
        return {"$tensor": path}
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, f"{path}/{i}", tensors, seen) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors, seen) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, f"{path}/{k}", tensors, seen) for k, v in obj.items()}
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in obj):
            raise TypeError(f"{path}: dict keys must be str or int, got {[type(k).__name__ for k in obj]}")
        return {"$dict": [[k, _encode(v, f"{path}/{k}", tensors, seen)] for k, v in obj.items()]}
    raise TypeError(f"{path}: cannot store a {type(obj).__name__} in a training state")


def _decode(node: Any, tensors, where: str) -> Any:
    if isinstance(node, _SCALARS):
        return node
    if isinstance(node, list):
        return [_decode(v, tensors, where) for v in node]
    if not isinstance(node, dict):
        raise ValueError(f"unexpected {type(node).__name__} in the index at {where}")
    if "$tensor" in node:
        name = node["$tensor"]
        if len(node) != 1 or not isinstance(name, str) or name not in tensors:
            raise ValueError(f"the index names a tensor {name!r} that the file does not hold")
        return tensors[name]
    if "$tuple" in node:
        if len(node) != 1 or not isinstance(node["$tuple"], list):
            raise ValueError(f"malformed tuple at {where}")
        return tuple(_decode(v, tensors, where) for v in node["$tuple"])
    if "$dict" in node:
        items = node["$dict"]
        if len(node) != 1 or not isinstance(items, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in items):
            raise ValueError(f"malformed dict at {where}")
        return {k: _decode(v, tensors, f"{where}/{k}") for k, v in items}
    return {k: _decode(v, tensors, f"{where}/{k}") for k, v in node.items()}


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temp file in the same directory, then rename)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    index = _encode(state, "", tensors, set())
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": _FORMAT, "version": _VERSION, "index": json.dumps(index)})


def load_state(path: Path, field: str = "resume") -> dict[str, Any]:
    """Read a state written by :func:`save_state`; anything else is a one-line :class:`UserError`.

    A pickle (``state.pt`` from an older synthdata, or one planted in a shared checkpoint) is refused
    by name and never opened."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    legacy = path.with_name(LEGACY_STATE_FILE)
    if not path.is_file():
        if legacy.exists():
            raise UserError(field, f"{legacy} is a pickle, which synthdata never loads (unpickling can run code); "
                                   f"expected {path} (safetensors + JSON) written by `synthdata train-generator` "
                                   "— a checkpoint from an older version samples but cannot resume")
        raise UserError(field, f"nothing to resume: {path} does not exist")
    expected = "expected a safetensors training state written by `synthdata train-generator`"
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _FORMAT or meta.get("version") != _VERSION:
                raise ValueError(f"header format {meta.get('format')!r} version {meta.get('version')!r}")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        state = _decode(json.loads(meta["index"]), tensors, "")
        if not isinstance(state, dict):
            raise ValueError("the index is not an object")
    except (SafetensorError, OSError, ValueError, KeyError, RecursionError) as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UserError(field, f"{path} is not readable as a training state ({why}); {expected}") from None
    return state

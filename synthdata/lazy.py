"""Heavy modules imported on first use: ``from ..lazy import torch`` instead of ``import torch``.

Checking a recipe (``synthdata validate``, ``load_recipe``) reaches the registries of the ray-caster,
the motions and the label kinds, which live in modules that use torch inside their functions only;
importing torch costs seconds. A lazy module imports the real one when an attribute is first read,
then puts the real module in place of itself in every ``synthdata`` module that holds it, so hot
code pays nothing afterwards.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["LazyModule", "torch", "torch_F"]


class LazyModule(types.ModuleType):
    """Stands for module ``target`` until an attribute is read."""

    def __init__(self, target: str):
        super().__init__(target)
        self.__dict__["_target"] = target

    def _load(self) -> types.ModuleType:
        real = importlib.import_module(self.__dict__["_target"])
        for name, mod in list(sys.modules.items()):  # swap the stand-in for the real module
            if name.startswith("synthdata") and mod is not None:
                d = getattr(mod, "__dict__", {})
                for key, value in list(d.items()):
                    if value is self:
                        d[key] = real
        return real

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__") and attr not in ("__version__", "__file__", "__path__"):
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_target']!r}>"


torch = LazyModule("torch")
torch_F = LazyModule("torch.nn.functional")

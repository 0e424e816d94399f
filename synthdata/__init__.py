"""synthdata: declarative recipes → labelled synthetic video datasets.

>>> import synthdata
>>> spec = synthdata.load_recipe("shapes", overrides=["clip.frames=8"])
>>> synthdata.generate(spec, clips=4, out="data/shapes")      # doctest: +SKIP
>>> ds = synthdata.open_dataset("data/shapes")                # doctest: +SKIP

``import synthdata`` is cheap: stages are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_recipe", "generate", "open_dataset", "list_recipes", "RecipeSpec", "UserError",
           "ClipDataset", "to_fiftyone", "export", "ablate", "ablation_hook"]

_LAZY = {
    "load_recipe": ("synthdata.api", "load_recipe"),
    "generate": ("synthdata.api", "generate"),
    "open_dataset": ("synthdata.io.reader", "open_dataset"),
    "list_recipes": ("synthdata.configs", "list_recipes"),
    "RecipeSpec": ("synthdata.recipe.schema", "RecipeSpec"),
    "UserError": ("synthdata.errors", "UserError"),
    "ClipDataset": ("synthdata.integrations.torch_dataset", "ClipDataset"),
    "to_fiftyone": ("synthdata.integrations.fiftyone", "to_fiftyone"),
    "export": ("synthdata.integrations", "export"),
    "ablate": ("synthdata.evaluate.ablate", "ablate"),
    "ablation_hook": ("synthdata.evaluate.ablate", "ablation_hook"),
}


#: subpackages reachable as attributes after a plain ``import synthdata`` (``synthdata.augment.…``, as the
#: docs write it), imported on first use like the rest
_SUBPACKAGES = ("annotate", "augment", "evaluate", "integrations", "io", "motion", "recipe", "render", "run",
                "scene", "tasks", "train", "worlds")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    if name in _SUBPACKAGES:
        return import_module(f"synthdata.{name}")
    raise AttributeError(f"module 'synthdata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

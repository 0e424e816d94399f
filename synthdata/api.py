"""The Python API, mirroring the CLI: ``load_recipe``, ``generate``, ``open_dataset``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError
from .recipe.loading import load_recipe as _load

if TYPE_CHECKING:  # the heavy stages load when generate/open_dataset run, not on `load_recipe`
    from .io.manifest import Manifest
    from .recipe.schema import RecipeSpec
    from .run.compute import ComputeSpec

__all__ = ["load_recipe", "generate", "open_dataset"]


def load_recipe(recipe: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RecipeSpec:
    """A shipped recipe by name, or a YAML file by path, with Hydra overrides; fully checked."""
    from .run.check import check_recipe

    return check_recipe(_load(str(recipe), overrides))


def generate(recipe: RecipeSpec | str, clips: int, out: str | Path, *, overrides: list[str] | tuple[str, ...] = (),
             compute: ComputeSpec | str | dict | None = None, overwrite: bool = False, progress: bool | None = None,
             device: str | None = None) -> Manifest:
    """Generate a dataset; ``recipe`` is a RecipeSpec or a name/path (then ``overrides`` apply).

    ``compute``: ``None`` (threads in this process: works in a notebook and in a script without an
    ``if __name__ == "__main__":`` guard), ``"local"`` (an embedded Dask cluster, one process per core:
    call it under a ``__main__`` guard, as spawned workers re-import the script), ``"sync"`` (one shard
    after another in this process), a dict of settings (``name`` defaults to ``local`` there) such as
    ``{"workers": 4, "shard_size": 16}`` or ``{"address": "tcp://host:8786"}``, or a ComputeSpec. Returns the dataset's manifest.
    """
    from .recipe.schema import RecipeSpec
    from .run.generate import generate as _generate

    if isinstance(recipe, RecipeSpec):
        if overrides:  # they would be dropped without a word
            raise UserError("overrides", "a RecipeSpec is composed already: apply overrides when loading it "
                                         "(load_recipe(name_or_path, overrides)) or pass the name here")
        spec = recipe
    else:
        spec = load_recipe(recipe, overrides)
    if compute is None:
        compute = "threads"
    return _generate(spec, clips, out, compute=compute, overwrite=overwrite, progress=progress, device=device)



def __getattr__(name: str):
    if name == "open_dataset":  # re-exported on first use (the reader imports pyarrow)
        from .io.reader import open_dataset

        return open_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

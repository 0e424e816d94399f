"""``python -m synthdata.run.schema > schemas/recipe.schema.json``: the recipe schema with every
built-in backend's settings (lives in ``run``, the stage that may import the backends)."""

from __future__ import annotations

from ..recipe.jsonschema import recipe_json_schema
from ..render.backend import BACKENDS, backend_class

__all__ = ["shipped_recipe_schema"]

BUILTIN_BACKENDS = ("raycast", "diffusion", "diffusers_pipeline")


def shipped_recipe_schema() -> str:
    assert all(name in BACKENDS for name in BUILTIN_BACKENDS)
    return recipe_json_schema({name: backend_class(name).Settings for name in BUILTIN_BACKENDS})


if __name__ == "__main__":
    print(shipped_recipe_schema(), end="")

"""JSON-Schema export of :class:`RecipeSpec` (``python -m synthdata.recipe.jsonschema > schemas/recipe.schema.json``)."""

from __future__ import annotations

import json

from .schema import RecipeSpec

__all__ = ["recipe_json_schema"]


def recipe_json_schema() -> str:
    schema = RecipeSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://synthdata.dev/schemas/recipe.schema.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(recipe_json_schema(), end="")

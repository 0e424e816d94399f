"""JSON-Schema export of :class:`RecipeSpec`; the committed ``schemas/recipe.schema.json`` is written by
``python -m synthdata.run.schema`` (which adds every built-in backend's settings)."""

from __future__ import annotations

import json
from typing import Mapping

from pydantic import BaseModel

from .schema import RecipeSpec

__all__ = ["recipe_json_schema"]


def recipe_json_schema(backends: Mapping[str, type[BaseModel]] | None = None) -> str:
    """The recipe's schema. ``backends`` (name → settings model) makes ``backend`` one of those backends
    with exactly its settings (editors then complete and check them); without it any settings pass."""
    schema = RecipeSpec.model_json_schema()
    if backends:
        defs = schema.setdefault("$defs", {})
        variants = []
        for name, model in sorted(backends.items()):
            sub = model.model_json_schema(ref_template="#/$defs/{model}")
            defs.update(sub.pop("$defs", {}))
            sub["properties"] = {"name": {"const": name, "type": "string"}, **sub.get("properties", {})}
            sub["required"] = ["name"]
            sub["title"] = f"backend={name}"
            variants.append(sub)
        spec = defs["BackendSpec"]
        defs["BackendSpec"] = {"description": spec.get("description", ""), "oneOf": variants, "title": "BackendSpec"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://synthdata.dev/schemas/recipe.schema.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"

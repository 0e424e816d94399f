"""Recipes: schema models, distributions, Hydra loading, JSON-Schema export."""

from .distributions import draw
from .loading import compose_recipe, config_dir, list_recipes, load_recipe, parse_spec, spec_to_yaml
from .schema import LIMITS, RecipeSpec

__all__ = [
    "LIMITS", "RecipeSpec", "compose_recipe", "config_dir", "draw", "list_recipes", "load_recipe",
    "parse_spec", "spec_to_yaml",
]

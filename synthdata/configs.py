"""The shipped config tree (``recipe/``, ``compute/``, ``augment/``, …): where it is and what it
lists, without importing the recipe machinery (Hydra, the schema), so ``synthdata recipes`` and the
start of ``synthdata generate`` stay quick."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["config_dir", "list_recipes"]


def config_dir() -> Path:
    """The shipped config tree: ``synthdata/_recipes`` in a wheel, ``<repo>/recipes`` in a checkout."""
    packaged = resources.files("synthdata") / "_recipes"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "recipes"


def list_recipes() -> list[tuple[str, str]]:
    """(name, description) of every shipped recipe, sorted by name. Shipped files are trusted: read
    with libyaml's safe loader when present (the whole tree in milliseconds, where OmegaConf took most
    of a second)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out = []
    for path in sorted((config_dir() / "recipe").glob("*.yaml")):
        body = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        out.append((path.stem, str((body or {}).get("description", ""))))
    return out

"""Loading recipes through Hydra compose from the config tree shipped in the wheel.

``load_recipe("shapes", ["clip.frames=8"])`` composes ``recipes/config.yaml`` with ``recipe=shapes``;
``load_recipe("./mine.yaml")`` composes the user's file with the shipped tree on the search path, so it
may start from a shipped recipe through its defaults list (``- recipe: shapes``).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from pydantic import ValidationError

from ..errors import RecipeError, UserError
from .schema import RecipeSpec

__all__ = ["config_dir", "list_recipes", "compose_recipe", "load_recipe", "parse_spec", "spec_to_yaml"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_KEY = re.compile(r"^(\+\+|\+|~)?[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
_FORBIDDEN_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")


def config_dir() -> Path:
    """The shipped config tree: ``synthdata/_recipes`` in a wheel, ``<repo>/recipes`` in a checkout."""
    packaged = resources.files("synthdata") / "_recipes"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "recipes"


def list_recipes() -> list[tuple[str, str]]:
    """(name, description) of every shipped recipe, sorted by name."""
    out = []
    for path in sorted((config_dir() / "recipe").glob("*.yaml")):
        desc = OmegaConf.load(path).get("description", "")
        out.append((path.stem, str(desc)))
    return out


def _is_path(recipe: str) -> bool:
    return recipe.endswith((".yaml", ".yml")) or "/" in recipe or "\\" in recipe


def _refuse_code(node: Any, where: str = "") -> None:
    """Recipes never carry Hydra instantiation keys: an untrusted recipe must not run code."""
    if isinstance(node, (dict, DictConfig)):
        for k, v in node.items():
            key = f"{where}.{k}" if where else str(k)
            if str(k) in _FORBIDDEN_KEYS:
                raise UserError(key, "instantiation keys are not allowed in recipes; name registry entries instead")
            _refuse_code(v, key)
    elif isinstance(node, (list, ListConfig)):
        for i, v in enumerate(node):
            _refuse_code(v, f"{where}.{i}")


def _hydra_error(exc: Exception, recipe: str) -> UserError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = re.search(r"Could not override '([^']+)'", str(exc))
    if m:
        detail = str(exc).strip().splitlines()
        reason = next((ln.strip() for ln in detail[1:] if ln.strip() and "full_key" not in ln), "not a recipe field")
        reason = re.sub(r"\s*\n.*", "", reason)
        if "not in struct" in reason or "To append" in reason:
            reason = "unknown field"
        return UserError(m.group(1), reason)
    m = re.search(r"Error merging override [+~]*([^=\s]+)=", str(exc))
    if m:
        return UserError(m.group(1), "cannot take that value here (a list where a mapping is, or the reverse); "
                                     "write a constant, a distribution mapping, or a three-number list")
    m = re.search(r"Key '([^']+)' is not in struct", str(exc))
    if m:
        return UserError(m.group(1), "not a recipe field")
    return UserError("overrides" if "override" in msg.lower() else "recipe", msg)


def compose_recipe(recipe: str, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Hydra-compose a recipe (shipped name or YAML path) with overrides into a plain dict."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    for o in overrides:
        key = o.split("=")[0]
        if not _KEY.match(key) or ("=" not in o and not key.startswith("~")):
            raise UserError(key or o, "expected key=value with a dotted recipe key, e.g. clip.frames=8")
        if any(k in o for k in _FORBIDDEN_KEYS):
            raise UserError(o.split("=")[0].lstrip("+~"), "instantiation keys are not allowed in recipes")
        if o.split("=")[0].lstrip("+~").startswith("hydra"):
            raise UserError(o.split("=")[0], "hydra settings cannot be overridden from a recipe run")
    root = config_dir()
    # Plain `key=value` becomes `++key=value` (set, adding the key if the YAML left it to the schema's
    # default); the schema then refuses unknown keys with a clear line. Config-group choices
    # (`backend=raycast`) stay as they are.
    overrides = [o if o.startswith(("+", "~")) or (root / o.split("=")[0]).is_dir() else f"++{o}" for o in overrides]
    try:
        if _is_path(recipe):
            path = Path(recipe).expanduser().resolve()
            if path.suffix not in (".yaml", ".yml"):
                raise UserError("recipe", f"expected a recipe name or a .yaml file, got {recipe!r}")
            if not path.is_file():
                raise UserError("recipe", f"file not found: {recipe}")
            _refuse_code(OmegaConf.load(path))
            with initialize_config_dir(config_dir=str(path.parent), version_base=None):
                cfg = compose(path.stem, overrides=[f"hydra.searchpath=[file://{root}]", *overrides])
        else:
            if not _NAME.match(recipe):
                raise UserError("recipe", f"expected a recipe name (letters, digits, _ or -) or a .yaml path, got {recipe!r}")
            names = [n for n, _ in list_recipes()]
            if recipe not in names:
                import difflib

                close = difflib.get_close_matches(recipe, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UserError("recipe", f"unknown recipe {recipe!r}{hint}; expected one of {', '.join(names)} or a .yaml path")
            with initialize_config_dir(config_dir=str(root), version_base=None):
                cfg = compose("config", overrides=[f"recipe={recipe}", *overrides])
    except UserError:
        raise
    except MissingConfigException as exc:
        raise UserError("recipe", str(exc).strip().splitlines()[0]) from None
    except (HydraException, OmegaConfBaseException) as exc:
        raise _hydra_error(exc, recipe) from None
    except ValueError as exc:  # Hydra's own checks of override values
        raise UserError("overrides", str(exc).splitlines()[0]) from None
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    _refuse_code(data)
    return data


_UNION_TAG = re.compile(r"[\[\]A-Z]|^(float|int|str|bool|none)$")


def _loc(loc: tuple[Any, ...]) -> tuple[str, bool]:
    """The recipe field of a pydantic error location, and whether it came from inside a union member.

    Pydantic names union members in locations (``float``, ``Uniform``, ``tuple[...]``); the field is
    everything before the first such tag."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, str) and _UNION_TAG.search(p):
            return ".".join(parts) or "recipe", True
        parts.append(str(p))
    return ".".join(parts) or "recipe", False


def parse_spec(data: dict[str, Any]) -> RecipeSpec:
    """Validate a composed dict; every problem becomes one ``field: expected …`` line."""
    try:
        return RecipeSpec.model_validate(data)
    except ValidationError as exc:
        by_field: dict[str, list[tuple[dict, bool]]] = {}
        for err in exc.errors():
            field, in_union = _loc(err["loc"])
            by_field.setdefault(field, []).append((err, in_union))
        problems = []
        for field, errs in by_field.items():
            # a union reports once per member: our own checks (value_error) say the most; otherwise say
            # what a number/name/vector field accepts
            chosen = next((e for e, _ in errs if e["type"] == "value_error"), None)
            if chosen is None and len(errs) > 1 and all(u for _, u in errs):
                got = _input_at(data, field)
                problems.append((field, f"expected a constant or a distribution ({{uniform: [a, b]}}, "
                                        f"{{choice: [...]}}, …), got {got!r}"))
                continue
            err = chosen or errs[0][0]
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            if "input" in err and err["type"] not in ("extra_forbidden", "missing") and "got" not in msg:
                msg += f" (got {err['input']!r})"
            problems.append((field, msg))
        raise RecipeError(problems) from None


def _input_at(data: Any, field: str) -> Any:
    for part in field.split("."):
        try:
            data = data[int(part)] if isinstance(data, list) else data[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return data


def load_recipe(recipe: str | RecipeSpec, overrides: list[str] | tuple[str, ...] = ()) -> RecipeSpec:
    """Compose + validate a recipe; registry names are checked by ``synthdata.run.check``."""
    if isinstance(recipe, RecipeSpec):
        if overrides:
            raise UserError("overrides", "apply overrides when loading by name or path, not to a RecipeSpec")
        return recipe
    return parse_spec(compose_recipe(recipe, overrides))


def spec_to_yaml(spec: RecipeSpec) -> str:
    """The resolved recipe as YAML, re-runnable as-is with ``recipe=<that file>``."""
    return OmegaConf.to_yaml(OmegaConf.create(spec.model_dump(mode="json")))

"""Loading recipes: Hydra compose of the shipped config tree, then the user's file and overrides.

``load_recipe("shapes", ["clip.frames=8"])`` composes ``recipes/config.yaml`` with ``recipe=shapes``;
``load_recipe("./mine.yaml")`` reads the user's file with the bounded loader (:mod:`.yamlsafe`) and
merges it over the shipped recipe its defaults list names (``- recipe: shapes``).

A recipe file is untrusted data: Hydra and OmegaConf never read it (they would expand aliases without
bound and run resolvers such as ``oc.env``), and every problem is one ``field: expected …`` line.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from pydantic import BaseModel, ValidationError

from ..configs import config_dir, list_recipes  # noqa: F401 - re-exported: recipe.loading's public names
from ..errors import RecipeError, UserError, expected_mapping, shown, unknown_field, user_path
from .distributions import DIST_KEYS, MAX_ABS
from .schema import RecipeSpec
from .yamlsafe import YAML_LIMITS, load_yaml

__all__ = ["config_dir", "list_recipes", "compose_recipe", "load_recipe", "parse_spec", "spec_to_yaml"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_KEY = re.compile(r"^(\+\+|\+|~)?[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")
_FORBIDDEN_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")


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


# Composition. Hydra composes the shipped tree only (trusted files; group choices are checked first).
# The user's file (read by the bounded loader) and the overrides are merged here by one rule: mappings
# merge key by key, except that a distribution, or a motion whose name changes, is REPLACED (merging
# {choice: …} into {randint: …}, or one motion's params into another's, is never what was meant);
# everything else (numbers, names, lists) replaces.

_GROUPS = ("recipe", "backend")
#: registry items: their settings belong to the item named beside them (a motion's under ``params``,
#: the backend's beside ``name``), so naming another item drops the old one's settings
_ITEM = re.compile(r"^((camera|objects\.\d+)\.motion|backend)$")
_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)\}$")
_MAX_OVERRIDE_CHARS = 4096
_MAX_DEPTH = 64  # of the composed recipe (a file's own nesting is capped lower, by YAML_LIMITS)
_MISSING: Any = object()


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def _choose(group: str, value: Any, field: str) -> str:
    """A config-group choice is a shipped file's stem, nothing else (no paths, no `..`)."""
    names = _choices(group)
    if isinstance(value, str) and value in names:
        return value
    from ..errors import did_you_mean

    raise UserError(field, f"unknown {group} {value!r}{did_you_mean(value, names)}; expected one of {', '.join(names)}")


def _is_dist(v: Any) -> bool:
    return isinstance(v, dict) and any(k in v for k in DIST_KEYS)


@functools.cache
def _switch_blocks() -> frozenset[str]:
    """Paths of switch blocks (``annotations.tracks``): a block with an ``enabled`` key that also takes
    a plain true/false, which is ``{enabled: …}``; so ``tracks=true`` and ``tracks.points=64`` merge,
    in either order."""
    from .schema import AnnotationSpec

    return frozenset(f"annotations.{name}" for name, f in AnnotationSpec.model_fields.items()
                     if isinstance(f.default, BaseModel) and "enabled" in type(f.default).model_fields)


def _as_block(v: Any, path: str) -> Any:
    return {"enabled": v} if isinstance(v, bool) and path in _switch_blocks() else v


def _merge(base: Any, layer: Any, path: str) -> Any:
    """``layer`` over ``base``; neither is modified (YAML aliases may share them)."""
    base, layer = (_as_block(base, path), _as_block(layer, path)) if isinstance(base, dict) or isinstance(layer, dict) \
        else (base, layer)
    if (isinstance(base, dict) and isinstance(layer, dict) and not _is_dist(base) and not _is_dist(layer)
            and not (_ITEM.match(path) and "name" in layer and layer["name"] != base.get("name"))):
        out = dict(base)
        for k, v in layer.items():
            out[k] = _merge(base.get(k, _MISSING), v, f"{path}.{k}" if path else str(k))
        return out
    return layer


def _set_in(node: Any, parts: list[str], path: str, fn: Any) -> Any:
    """Copy of ``node`` with the value at ``parts`` replaced by ``fn(old)`` (``_MISSING`` when absent)."""
    if not parts:
        return fn(node)
    head, rest = parts[0], parts[1:]
    here = f"{path}.{head}" if path else head
    if isinstance(node, list):
        if not head.isdigit() or int(head) >= len(node):
            raise UserError(here, f"no such item: {path or 'the recipe'} is a list of {len(node)}")
        out = list(node)
        out[int(head)] = _set_in(node[int(head)], rest, here, fn)
        return out
    if node is _MISSING or node is None:
        node = {}
    node = _as_block(node, path)
    if not isinstance(node, dict):
        raise UserError(here, f"{path} is {node!r}, not a mapping, so it has no field {head!r}")
    out = dict(node)
    out[head] = _set_in(node.get(head, _MISSING), rest, here, fn)
    return out


def _switch_item(item: Any, name: Any, path: str, touched: set[str]) -> Any:
    """``<motion>.name=x`` / ``backend.name=x``: the new item starts without the old one's settings,
    but keeps those that earlier overrides set for it (so the order of overrides does not matter)."""
    if not isinstance(item, dict):
        return {"name": name}
    if item.get("name") == name:
        return {**item, "name": name}

    def kept(settings: dict, prefix: str) -> dict:
        return {k: v for k, v in settings.items() if any(t == f"{prefix}{k}" or t.startswith(f"{prefix}{k}.")
                                                         for t in touched)}

    if path == "backend":
        return {**kept(item, "backend."), "name": name}
    params = item.get("params")
    return {**item, "name": name, "params": kept(params, f"{path}.params.") if isinstance(params, dict) else {}}


def _delete(parent: Any, last: str, key: str) -> Any:
    if isinstance(parent, dict) and last in parent:
        return {k: v for k, v in parent.items() if k != last}
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return [v for i, v in enumerate(parent) if i != int(last)]
    raise UserError(key, "not in the recipe, so it cannot be deleted")


def _nesting(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        deepest = max(deepest, depth)
    return deepest


def _parse_override(o: str) -> tuple[str, str, Any]:
    """One override → (``set`` | ``del`` | ``group``, dotted key, value), values in Hydra's grammar."""
    key = o.split("=")[0]
    if len(o) > _MAX_OVERRIDE_CHARS:
        raise UserError(key[:64], f"override longer than {_MAX_OVERRIDE_CHARS} characters")
    if not _KEY.match(key) or ("=" not in o and not key.startswith("~")):
        raise UserError(key or o, "expected key=value with a dotted recipe key, e.g. clip.frames=8")
    bare = key.lstrip("+~")
    if any(k in o for k in _FORBIDDEN_KEYS):
        raise UserError(bare, "instantiation keys are not allowed in recipes")
    if bare.startswith("hydra"):
        raise UserError(key, "hydra settings cannot be overridden from a recipe run")
    if _nesting(o) > YAML_LIMITS["max_depth"]:
        raise UserError(bare, f"value nested deeper than {YAML_LIMITS['max_depth']} levels")
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_override(o)
        if parsed.is_sweep_override():
            raise UserError(bare, "sweeps (a=1,2, choice(…), range(…)) are not supported; give one value "
                                  "(a distribution is written {choice: [1, 2]})")
        value = parsed.value()
    except UserError:
        raise
    except (HydraException, ValueError, TypeError, RecursionError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(bare, f"could not parse the value ({first})") from None
    if parsed.type == OverrideType.DEL:
        return "del", bare, None
    if bare in _GROUPS:
        return "group", bare, _choose(bare, value, bare)
    return "set", bare, value


def _defaults(entries: Any) -> dict[str, str]:
    """A user file's defaults list: a shipped recipe and/or backend, ``_self_`` last. Nothing else: the
    file may not pull other files (from its folder or anywhere) past the bounded loader."""
    if entries is None:
        return {}
    usage = "expected a list of `- recipe: <shipped recipe>`, `- override /backend: <name>` and a final `- _self_`"
    if not isinstance(entries, list):
        raise UserError("defaults", usage)
    groups: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if entry == "_self_":
            if i != len(entries) - 1:
                raise UserError("defaults", "_self_ must come last: the file's values override what it starts from")
            continue
        if isinstance(entry, dict) and len(entry) == 1:
            (k, v), = entry.items()
            group = re.sub(r"^(override\s+)?/?", "", str(k))
            if group in _GROUPS and group not in groups:
                groups[group] = _choose(group, v, f"defaults.{group}")
                continue
        raise UserError("defaults", f"{usage}; got {entry!r}")
    return groups


#: composed shipped recipes of the tree as it was last read, by groups: a process that loads recipes
#: again and again (a test suite, a sweep, a notebook) composes each once (Hydra's compose is
#: ~0.1–0.2 s, most of a load)
_COMPOSED: dict[str, Any] = {"tree": None, "groups": {}}


def _tree_state(root: Path) -> tuple:
    """What the composition of ``root`` depends on: each YAML file's path, size and change time (an
    edited shipped file, in a checkout, is composed afresh)."""
    files = []
    for path in sorted(root.rglob("*.yaml")):
        st = path.stat()
        files.append((str(path.relative_to(root)), st.st_size, st.st_mtime_ns))
    return str(root), tuple(files)


def _compose_shipped(groups: dict[str, str]) -> dict[str, Any]:
    """Hydra-compose the shipped recipe and backend named in ``groups`` (both already checked): a
    fresh copy of the cached composition while the tree is unchanged."""
    if not groups:
        return {}
    tree = _tree_state(config_dir())
    if _COMPOSED["tree"] != tree:
        _COMPOSED.update(tree=tree, groups={})
    key = tuple(sorted(groups.items()))
    if key not in _COMPOSED["groups"]:
        _COMPOSED["groups"][key] = _compose(groups)
    return copy.deepcopy(_COMPOSED["groups"][key])


def _compose(groups: dict[str, str]) -> dict[str, Any]:
    from hydra import compose, initialize_config_dir

    overrides = [f"recipe={groups['recipe']}"] if "recipe" in groups else ["~recipe"]
    if "backend" in groups:
        overrides.append(("backend=" if "recipe" in groups else "+backend=") + groups["backend"])
    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = compose("config", overrides=overrides)
    data = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(data, dict)
    return data


def _resolve_refs(data: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``${path.to.key}`` references between recipe fields; refuse every other interpolation.

    OmegaConf's resolvers (``oc.env``, ``oc.decode``, any registered one) never run on recipe data: they
    would copy the environment into dataset.json. Expansion is bounded like YAML aliases."""
    limit = 2 * YAML_LIMITS["max_nodes"]
    budget = [limit]

    def walk(node: Any, field: str, depth: int, refs: tuple[str, ...]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise UserError(field or "recipe", f"references expand the recipe beyond {limit} values")
        if depth > _MAX_DEPTH:
            raise UserError(field or "recipe", f"nested deeper than {_MAX_DEPTH} levels")
        if isinstance(node, str) and "${" in node:
            m = _REF.match(node)
            if not m:
                shown = node if len(node) <= 60 else node[:57] + "..."
                raise UserError(field or "recipe", f"interpolation {shown!r} is not allowed: a recipe may only refer "
                                "to another field, as the whole value ${path.to.key} (resolvers such as oc.env are refused)")
            ref = m.group(1)
            path = (field, *refs)  # the field, then each reference followed from it
            if ref in path:
                chain = (*path[path.index(ref):], ref)
                raise UserError(field, f"${{{ref}}} refers back to itself" if len(chain) == 2
                                else "references form a cycle: " + " → ".join(chain))
            return walk(lookup(ref, field, depth, refs + (ref,)), field, depth + 1, refs + (ref,))
        if isinstance(node, dict):
            return {k: walk(v, f"{field}.{k}" if field else str(k), depth + 1, refs) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{field}.{i}", depth + 1, refs) for i, v in enumerate(node)]
        return node

    def lookup(ref: str, field: str, depth: int, refs: tuple[str, ...]) -> Any:
        node: Any = data
        for part in ref.split("."):
            if isinstance(node, str) and "${" in node:
                node = walk(node, field, depth + 1, refs)
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise UserError(field, f"${{{ref}}} refers to a field the recipe does not have")
        return node

    return walk(data, "", 0, ())


def compose_recipe(recipe: str, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Compose a recipe (shipped name or YAML path) with overrides into a plain dict.

    Layers, in order: the shipped recipe/backend the file names in its defaults list, the file's own
    values, each override in turn (``backend=<choice>``, ``key=value``, ``~key``); then ``${…}``
    references are resolved."""
    if isinstance(overrides, (str, bytes)) or not all(isinstance(o, str) for o in overrides):
        got = "a single string" if isinstance(overrides, str) else f"{type(overrides).__name__} {overrides!r}"[:120]
        raise UserError("overrides", f"expected a list of key=value strings such as ['clip.frames=8'], got {got}")
    ops = [_parse_override(o) for o in overrides]  # a later value wins (Hydra's rule; the CLI refuses repeats)
    body: dict[str, Any] = {}
    if _is_path(recipe):
        path = user_path(recipe, "recipe")
        if path.suffix not in (".yaml", ".yml"):
            raise UserError("recipe", _NAME_OR_PATH + f", got {recipe!r}")
        if not path.is_file():
            raise UserError("recipe", f"{recipe} is a directory, not a recipe file" if path.is_dir()
                            else f"{recipe} is not a regular file (a pipe, device or socket)" if path.exists()
                            else f"file not found: {recipe}")
        loaded = load_yaml(path, where=recipe)
        if not isinstance(loaded, dict):
            got = "an empty file" if loaded is None else f"a {type(loaded).__name__}"
            raise UserError(recipe, f"expected a mapping of recipe fields, got {got}")
        _refuse_code(loaded)
        body = dict(loaded)
        groups = _defaults(body.pop("defaults", None))
    else:
        if not _NAME.match(recipe):
            raise UserError("recipe", _NAME_OR_PATH + f", got {recipe!r}")
        names = _choices("recipe")
        if recipe not in names:
            from ..errors import did_you_mean

            raise UserError("recipe", f"unknown recipe {recipe!r}{did_you_mean(recipe, names)}; expected one of "
                                      f"{', '.join(names)} or a .yaml path")
        groups = {"recipe": recipe}
    groups.update({key: value for kind, key, value in ops if kind == "group"})
    data = _merge(_compose_shipped(groups), body, "")
    touched: set[str] = set()
    for kind, key, value in ops:
        parts = key.split(".")
        if kind == "set" and parts[-1] == "name" and _ITEM.match(".".join(parts[:-1])):
            item = ".".join(parts[:-1])
            data = _set_in(data, parts[:-1], "", lambda old, v=value, p=item: _switch_item(old, v, p, touched))
        elif kind == "set":
            data = _set_in(data, parts, "", lambda old, v=value, k=key: _merge(old, v, k))
        elif kind == "del":
            data = _set_in(data, parts[:-1], "", lambda parent, last=parts[-1], k=key: _delete(parent, last, k))
        touched.add(key)
    data = _resolve_refs(data)
    _refuse_code(data)
    return data


_UNION_TAG = re.compile(r"[\[\]A-Z]|^(float|int|str|bool|none)$|^(constrained|function)-")


def _loc(loc: tuple[Any, ...]) -> tuple[str, str | None, str]:
    """(recipe field, union member tag or None, the rest) of a pydantic error location.

    Pydantic names union members in locations (``float``, ``Uniform``, ``tuple[...]``); the field is
    everything before the first such tag."""
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, str) and _UNION_TAG.search(p):
            rest = ".".join(str(q) for q in loc[i + 1:] if not (isinstance(q, str) and _UNION_TAG.search(q)))
            return ".".join(parts) or "recipe", p, rest
        parts.append(str(p))
    return ".".join(parts) or "recipe", None, ""


def _member(tag: str | None, got: Any) -> bool:
    """Whether a union member is the one a distribution mapping meant (``{choice: …}`` → ``*Choice``)."""
    if tag is None or not isinstance(got, dict):
        return False
    name = re.findall(r"[A-Za-z]+", tag)[-1]  # "function-after[_check(), IntChoice]" → IntChoice
    return any(k in got and (name.lower() == k or (k == "choice" and name.endswith("Choice"))) for k in DIST_KEYS)


def _number_problems(node: Any, field: str = "") -> list[tuple[str, str]]:
    """Non-finite or huge numbers, named by field (pydantic would only say which union member failed)."""
    if isinstance(node, dict):
        return [p for k, v in node.items() if field or k != "seed"
                for p in _number_problems(v, f"{field}.{k}" if field else str(k))]
    if isinstance(node, (list, tuple)):
        return [p for i, v in enumerate(node) for p in _number_problems(v, f"{field}.{i}")]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        if not math.isfinite(node):
            return [(field, f"expected a finite number, got {node}")]
        if abs(node) > MAX_ABS:
            return [(field, f"expected a number within ±{MAX_ABS:g}, got {node:g}")]
    return []


def parse_spec(data: dict[str, Any]) -> RecipeSpec:
    """Validate a composed dict; every problem becomes one ``field: expected …`` line."""
    problems = _number_problems(data)
    if problems:
        raise RecipeError(problems)
    try:
        spec = RecipeSpec.model_validate(data)
    except ValidationError as exc:
        by_field: dict[str, list[tuple[dict, str | None, str]]] = {}
        for err in exc.errors():
            field, tag, rest = _loc(err["loc"])
            by_field.setdefault(field, []).append((err, tag, rest))
        problems = []
        for field, errs in by_field.items():
            # a union reports once per member: our own checks (value_error) say the most, then the member
            # a distribution mapping names; otherwise say what a number/name/vector field accepts
            got = _input_at(data, field)
            if isinstance(got, bool) and any(e["type"] in _NUMBER_CHECKS for e, _, _ in errs):
                problems.append((field, _NOT_A_BOOLEAN))  # read as 0 or 1, then refused by a range: say why
                continue
            both = [k for k in DIST_KEYS if isinstance(got, dict) and k in got]
            if len(both) > 1:  # a mapping with two distributions' keys
                problems.append((field, f"give one distribution, got {len(both)}: {', '.join(both)}"))
                continue
            chosen = next((e for e, _, _ in errs if e["type"] == "value_error"), None)
            meant = next(((e, rest) for e, tag, rest in errs if _member(tag, got)), None)
            if chosen is None and meant is not None:
                err, rest = meant
                msg = err["msg"] + (f" (got {shown(err['input'])})" if "input" in err else "")
                problems.append((field, f"{rest}: {msg}" if rest else msg))
                continue
            if chosen is None and len(errs) > 1 and all(tag for _, tag, _ in errs):
                kinds = [k for k in DIST_KEYS if isinstance(got, dict) and k in got]
                if kinds:  # a distribution this field does not take (e.g. a uniform count)
                    problems.append((field, f"a {kinds[0]} distribution does not fit this field (got {shown(got)})"))
                    continue
                problems.append((field, f"expected a constant or a distribution ({{uniform: [a, b]}}, "
                                        f"{{choice: [...]}}, …), got {shown(got)}"))
                continue
            err = chosen or errs[0][0]
            msg = expected_mapping(RecipeSpec, err) or err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = unknown_field(RecipeSpec, err["loc"])
            if "input" in err and err["type"] not in ("extra_forbidden", "missing") and "got" not in msg \
                    and not isinstance(err["input"], dict):  # a whole block (a model's own check) says enough
                msg += f" (got {shown(err['input'])})"
            named = _NAMED.match(msg) if field == "recipe" else None
            if named and named.group(1).split(".")[0] in RecipeSpec.model_fields:  # a whole-recipe check names its field
                field, msg = named.group(1), named.group(2)
            problems.append((field, msg))
        raise RecipeError(problems) from None
    coerced = _coerced_booleans(data, spec.model_dump())
    if coerced:
        raise RecipeError([(f, _NOT_A_BOOLEAN) for f in coerced])
    return spec


_NOT_A_BOOLEAN = "expected a number, got a boolean (true/false)"
#: pydantic's checks of a number (a boolean given to a number field fails these after lax mode read it
#: as 0 or 1; ``value_error``: our own range checks)
_NUMBER_CHECKS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of",
                            "finite_number", "value_error"})

#: "field.path: message", how a whole-recipe check names the field it refuses
_NAMED = re.compile(r"^([a-z_]+(?:\.\w+)*): (.+)$", re.S)


def _coerced_booleans(given: Any, parsed: Any, field: str = "") -> list[str]:
    """Fields given true/false that validation turned into numbers (pydantic's lax mode reads a
    boolean as 1 or 0): a number field refuses a boolean, as it refuses a string."""
    if isinstance(given, bool):
        return [field] if not isinstance(parsed, bool) and isinstance(parsed, (int, float)) else []
    if isinstance(given, dict) and isinstance(parsed, dict):
        return [f for k, v in given.items() if k in parsed
                for f in _coerced_booleans(v, parsed[k], f"{field}.{k}" if field else str(k))]
    if isinstance(given, (list, tuple)) and isinstance(parsed, (list, tuple)) and len(given) == len(parsed):
        return [f for i, (v, w) in enumerate(zip(given, parsed)) for f in _coerced_booleans(v, w, f"{field}.{i}")]
    return []


#: what ``recipe`` accepts, said the same way whichever check refuses it
_NAME_OR_PATH = "expected a recipe name (letters, digits, _ or -) or a .yaml path"


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

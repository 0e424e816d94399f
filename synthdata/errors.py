"""User-facing errors.

A :class:`UserError` is bad input (recipe, override, path): the CLI prints its one line and exits 2.
Anything else is an internal error and keeps its traceback.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import typing
from pathlib import Path

__all__ = ["disk_full", "refuse_repeated_keys", "UserError", "RecipeError", "DEVICE_PATTERN", "check_device", "expected_mapping", "model_problems", "shown",
           "unknown_field", "closest", "did_you_mean", "user_path"]

#: what a ``device`` setting accepts (also the pattern in the recipe's JSON schema)
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"
_DEVICE = re.compile(DEVICE_PATTERN)


class UserError(ValueError):
    """Bad input from the user. ``field`` names what was wrong (a recipe field, a path, an argument)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class RecipeError(UserError):
    """A recipe that does not validate; may carry several problems, one line each."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        field, message = problems[0]
        super().__init__(field, message)

    def lines(self) -> list[str]:
        return [f"{f}: {m}" if f else m for f, m in self.problems]

    def __str__(self) -> str:  # one line per problem
        return "\n".join(self.lines())


def shown(value: typing.Any, limit: int = 120) -> str:
    """A value as recipes and command lines spell it (YAML): ``null``, ``true``, ``false``, strings
    quoted, lists and mappings in flow style; what an error's "got …" prints (not Python's ``None``).
    Cut to ``limit`` characters (an error stays one readable line whatever was given)."""
    text = _spelled(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _spelled(value: typing.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_spelled(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_spelled(v)}" for k, v in value.items()) + "}"
    return repr(value)


def model_problems(exc, prefix: str, model: type | None = None) -> "RecipeError":
    """A pydantic ``ValidationError`` of a settings model → one ``prefix.field[.sub]: message`` per field
    (an unknown field with the closest of ``model``'s names, when given)."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not _union_tag(p)]
        field = ".".join([p for p in (prefix, *loc) if p]) or "arguments"
        msg = unknown_field(model, err["loc"]) if err["type"] == "extra_forbidden" \
            else expected_mapping(model, err) or err["msg"].removeprefix("Value error, ")
        if err["type"] not in ("extra_forbidden", "missing") and "got" not in msg:
            msg += f" (got {shown(err['input'])})"
        problems.append((field, msg))
    return RecipeError(list(dict(problems).items()))


def _union_tag(part) -> bool:
    """A pydantic location part that names a union member or validator (``int``, ``str``,
    ``literal['a','b']``, ``function-after[…]``), not a field: field names never hold brackets (a prefix
    test dropped real fields such as ``strata``)."""
    p = str(part)
    return p in ("int", "float", "str", "bool", "none") or "[" in p


def closest(name: object, names: list[str]) -> str | None:
    """The valid name a mistyped one most likely meant: the same name in another case first
    (``COCO`` → 'coco'), else the nearest by spelling (difflib, ratio ≥ 0.6); None when none is close."""
    folded = {n.casefold(): n for n in names}
    if str(name).casefold() in folded:
        return folded[str(name).casefold()]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: object, names: list[str]) -> str:
    """`` (did you mean 'x'?)`` for :func:`closest`'s suggestion, or ``""``."""
    close = closest(name, names)
    return f" (did you mean {close!r}?)" if close else ""


def unknown_field(model: type | None, loc: tuple) -> str:
    """"unknown field" for a pydantic ``extra_forbidden`` error at ``loc`` under ``model``, with the closest
    valid name when one is close (``clip.widht`` → did you mean 'width'?)."""
    model = _model_at(model, loc[:-1])  # the model that holds the unknown name
    names = [] if model is None else list(getattr(model, "model_fields", {}))
    return "unknown field" + (did_you_mean(loc[-1], names) if loc else "")


def expected_mapping(model: type | None, err: dict) -> str | None:
    """What a settings block given a non-mapping expects (pydantic's ``model_type`` error names an
    internal class): "expected a mapping of <its fields>"; None for other errors or an unknown model."""
    if err["type"] != "model_type":
        return None
    found = _model_at(model, err["loc"])
    fields = list(getattr(found, "model_fields", {}))
    return f"expected a mapping of {', '.join(fields)}" if fields else None


def _model_at(model: type | None, loc: tuple) -> type | None:
    """The pydantic model at ``loc`` under ``model`` (list indices pass through), None when unknown."""
    for part in loc:
        if model is None:
            break
        field = getattr(model, "model_fields", {}).get(str(part))
        model = _model_in(field.annotation) if field is not None else (model if str(part).isdigit() else None)
    return model


def _model_in(tp) -> type | None:
    """The pydantic model a field's annotation holds (itself, or inside Optional/list/dict/union)."""
    if isinstance(tp, type) and hasattr(tp, "model_fields"):
        return tp
    for arg in typing.get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def check_device(value: str) -> str:
    """A ``device`` setting (recipes, training, ablations): ``value`` or the one-line error saying what fits."""
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise ValueError(f"expected auto, cpu, cuda or cuda:<index>, got {shown(value)}")
    return value


def user_path(value: str | os.PathLike, field: str) -> Path:
    """``Path(value).expanduser()``, with a ``~user`` that names no user (or no home) as one line about
    ``field`` instead of pathlib's RuntimeError."""
    try:
        return Path(value).expanduser()
    except RuntimeError as e:
        raise UserError(field, f"cannot expand {str(value)[:200]!r}: {e}") from None


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk: ENOSPC, or the closed file pyarrow reports
    after one (its own message names no errno)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def refuse_repeated_keys(args: typing.Iterable[str]) -> None:
    """One line naming a ``key=value`` (or ``~key``) key given twice: a reader of the command sees one
    value while the run would use the last (the reason duplicate keys in YAML are refused too)."""
    seen: dict[str, str] = {}
    for a in args:
        key = a.partition("=")[0].lstrip("+~")
        if key in seen:
            raise UserError(key, f"given twice ({seen[key]!r} and {a!r}); give each key once")
        seen[key] = a

"""User-facing errors.

A :class:`UserError` is bad input (recipe, override, path): the CLI prints its one line and exits 2.
Anything else is an internal error and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["UserError", "RecipeError", "model_problems"]


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


def model_problems(exc, prefix: str) -> "RecipeError":
    """A pydantic ``ValidationError`` of a settings model → one ``prefix.field[.sub]: message`` per field."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("int", "float", "literal", "str", "bool"))]
        field = ".".join([p for p in (prefix, *loc) if p]) or "arguments"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        if err["type"] not in ("extra_forbidden", "missing") and "got" not in msg:
            msg += f" (got {err['input']!r})"
        problems.append((field, msg))
    return RecipeError(list(dict(problems).items()))

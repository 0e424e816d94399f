"""User-facing errors.

A :class:`UserError` is bad input (recipe, override, path): the CLI prints its one line and exits 2.
Anything else is an internal error and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["UserError", "RecipeError"]


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

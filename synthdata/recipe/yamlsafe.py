"""A bounded YAML loader for recipe files, which are untrusted data.

PyYAML's safe loader still lets a 300-byte file expand into gigabytes through nested aliases
("billion laughs"), recurse until Python's stack overflows, build ``bytes``/``set``/``datetime`` values
through tags, and silently keep the last of two duplicate keys. :func:`load_yaml` parses with the safe
loader only (the resolvers OmegaConf uses, so numbers read the same as in the shipped recipes) and
refuses, with one line naming the file and line, anything beyond :data:`YAML_LIMITS` before any value
is built from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import UserError

__all__ = ["YAML_LIMITS", "load_yaml", "parse_yaml"]

#: Bounds on a recipe file; documented in docs/recipes.md. Nodes and depth are counted after alias
#: expansion, i.e. as the recipe will exist in memory.
YAML_LIMITS = {
    "max_bytes": 256 << 10,
    "max_nodes": 20_000,
    "max_aliases": 1_000,
    "max_depth": 32,
    "max_scalar_chars": 65_536,
}

_T = "tag:yaml.org,2002:"
#: plain data only: no python/*, binary, set, omap, timestamp or local (!foo) tags
_ALLOWED_TAGS = frozenset(_T + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
_MERGE = _T + "merge"


class _Refused(Exception):
    def __init__(self, line: int | None, message: str):
        self.line, self.message = line, message


class _Loader(yaml.SafeLoader):
    """SafeLoader with a depth/alias budget while composing (so deep input never reaches the stack)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > YAML_LIMITS["max_aliases"]:
                raise _Refused(line, f"more than {YAML_LIMITS['max_aliases']} aliases")
        elif isinstance(event, ScalarEvent) and len(event.value) > YAML_LIMITS["max_scalar_chars"]:
            raise _Refused(line, f"a value longer than {YAML_LIMITS['max_scalar_chars']} characters")
        self._nodes += 1
        if self._nodes > YAML_LIMITS["max_nodes"]:
            raise _Refused(line, f"more than {YAML_LIMITS['max_nodes']} values")
        self._depth += 1
        if self._depth > YAML_LIMITS["max_depth"]:
            raise _Refused(line, f"nested deeper than {YAML_LIMITS['max_depth']} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# The same implicit types OmegaConf reads (YAML 1.1 plus `1e3` as a float, no timestamps), so a value
# means the same thing here as in the shipped config tree.
_Loader.add_implicit_resolver(
    _T + "float",
    re.compile(r"""^(?:[-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
                  |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
                  |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != _T + "timestamp"] for k, v in _Loader.yaml_implicit_resolvers.items()
}


def _check_graph(root: Node) -> None:
    """Tags, keys and the expanded size/depth of the node graph (memoised: aliases are shared nodes)."""
    memo: dict[int, tuple[int, int]] = {}  # id → (values, depth) of the expanded subtree
    active: set[int] = set()
    max_depth, max_nodes = YAML_LIMITS["max_depth"], YAML_LIMITS["max_nodes"]

    def visit(node: Node, level: int) -> tuple[int, int]:
        line = node.start_mark.line + 1
        key = id(node)
        if key in active:
            raise _Refused(line, "an alias refers to the collection that contains it")
        if key in memo:
            n, d = memo[key]
            if level + d - 1 > max_depth:
                raise _Refused(line, f"nested deeper than {max_depth} levels (aliases included)")
            return n, d
        if level > max_depth:
            raise _Refused(line, f"nested deeper than {max_depth} levels (aliases included)")
        if node.tag not in _ALLOWED_TAGS:
            raise _Refused(line, f"tag {node.tag.replace(_T, '!!')} is not allowed; recipes hold plain data only")
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                children.append(v)
                if k.tag == _MERGE:
                    continue
                kline = k.start_mark.line + 1
                if not isinstance(k, ScalarNode) or k.tag != _T + "str":
                    shown = k.value if isinstance(k, ScalarNode) else "a collection"
                    raise _Refused(kline, f"key {shown!s} is not a name (quote it if it is meant as text)")
                if k.value in seen:
                    raise _Refused(kline, f"duplicate key {k.value!r} (first at line {seen[k.value]})")
                seen[k.value] = kline
        active.add(key)
        nodes, depth = 1, 0
        for child in children:
            n, d = visit(child, level + 1)
            nodes, depth = nodes + n, max(depth, d)
            if nodes > max_nodes:
                raise _Refused(line, f"expands to more than {max_nodes} values (aliases included)")
        active.discard(key)
        memo[key] = (nodes, depth + 1)
        return memo[key]

    visit(root, 1)


def parse_yaml(text: str | bytes, where: str) -> Any:
    """Parse one YAML document within :data:`YAML_LIMITS`; any problem → ``UserError(where, 'line N: …')``."""
    if len(text) > YAML_LIMITS["max_bytes"]:
        raise UserError(where, f"larger than {YAML_LIMITS['max_bytes']} bytes; a recipe is a small text file")
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except _Refused as exc:
        raise UserError(where, f"line {exc.line}: {exc.message}" if exc.line else exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark, what = exc.problem_mark or exc.context_mark, (exc.problem or exc.context or "not valid YAML").strip()
        if exc.context and exc.context_mark and exc.problem:
            if what == "second occurrence":  # a duplicate anchor
                what = f"{exc.context.split(';')[0].strip()} (first at line {exc.context_mark.line + 1})"
            elif what.startswith("but "):
                what = f"{exc.context.strip()}, {what}"
            elif exc.context_mark.line != mark.line:  # e.g. an unclosed bracket: say where it opened
                what += f" ({exc.context.strip()} from line {exc.context_mark.line + 1})"
        raise UserError(where, f"line {mark.line + 1}: {what}" if mark else what) from None
    except yaml.YAMLError as exc:  # reader errors: bad encoding, control characters
        raise UserError(where, f"not readable as YAML text: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise UserError(where, f"a value could not be read: {str(exc).splitlines()[0].split(';')[0]}") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: Path, where: str | None = None) -> Any:
    """Read and parse a recipe file; the size cap applies before the file is read whole."""
    where = where or str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(YAML_LIMITS["max_bytes"] + 1)
    except OSError as exc:
        raise UserError(where, f"cannot be read: {exc.strerror or exc}") from None
    return parse_yaml(data, where)

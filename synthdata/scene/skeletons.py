"""Keypoint skeletons: named points in an object's frame, per class.

A :class:`Skeleton` holds K named points in units of the object's half-size (so (0, 0, 1) is the top of
an object of any size) and the edges a viewer draws between them (COCO's ``skeleton``, 0-based here).
A recipe's object group may define its class's skeleton (``objects[i].keypoints``); otherwise the class
takes its primitive's default from :data:`SKELETONS` (box corners, sphere and cylinder poles). World
packs register theirs the same way (``synthdata.skeletons`` entry points).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..recipe.schema import RecipeSpec, SkeletonSpec
from ..registry import Registry

__all__ = ["Skeleton", "SKELETONS", "class_skeletons", "skeleton_conflicts"]


@dataclass(frozen=True)
class Skeleton:
    names: tuple[str, ...]
    points: np.ndarray  # (K,3) float64, object frame / half-size, at the parts' rest pose
    edges: tuple[tuple[int, int], ...] = ()
    parts: tuple[int, ...] | None = None  # (K,) part each keypoint rides on, -1 the body; None: all on the body

    @classmethod
    def from_spec(cls, spec: SkeletonSpec) -> "Skeleton":
        return cls(tuple(spec.names), np.asarray(spec.points, dtype=np.float64).reshape(-1, 3),
                   tuple(tuple(e) for e in spec.edges), None if spec.parts is None else tuple(spec.parts))

    def to_json(self) -> dict:
        out = {"keypoints": list(self.names), "points": self.points.tolist(), "skeleton": [list(e) for e in self.edges]}
        if self.parts is not None:  # only skeletons on parts carry the key: older metadata unchanged
            out["parts"] = list(self.parts)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Skeleton) and (self.names, self.edges, self.parts) == (other.names, other.edges, other.parts) \
            and np.array_equal(self.points, other.points)

    def __hash__(self) -> int:
        return hash((self.names, self.edges, self.parts))


#: primitive name → its default skeleton
SKELETONS: Registry[Skeleton] = Registry("skeleton", "synthdata.skeletons")


def _box() -> Skeleton:
    corners = list(itertools.product((1, -1), (1, -1), (1, -1)))  # x: front/rear, y: left/right, z: top/bottom
    names = tuple(f"{'front' if x > 0 else 'rear'}_{'left' if y > 0 else 'right'}_{'top' if z > 0 else 'bottom'}"
                  for x, y, z in corners)
    edges = tuple((i, j) for i, j in itertools.combinations(range(8), 2)
                  if sum(a != b for a, b in zip(corners[i], corners[j])) == 1)
    return Skeleton(names, np.array(corners, dtype=np.float64), edges)


_POLES = Skeleton(("top", "bottom"), np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), ((0, 1),))
SKELETONS.register("box", _box())
for _name in ("sphere", "ellipsoid", "cylinder", "capsule"):  # poles; the cylinder's are its cap centres
    SKELETONS.register(_name, _POLES)


def _default(group) -> Skeleton | None:
    """The primitive's default skeleton; none for a primitive drawn from a distribution."""
    return SKELETONS.get(group.primitive) if isinstance(group.primitive, str) and group.primitive in SKELETONS else None


def class_skeletons(spec: RecipeSpec) -> dict[str, Skeleton]:
    """Class name → skeleton, for the classes that have one: the one a group of the class gives
    (``objects[i].keypoints``; they must agree, see :func:`skeleton_conflicts`), else the primitive
    default its groups share. A class whose groups' defaults differ (a box and a sphere), or whose
    primitive is drawn from a distribution, has no keypoints unless the recipe gives it a skeleton."""
    explicit: dict[str, Skeleton] = {}
    defaults: dict[str, set] = {}
    for group in spec.objects:
        if group.keypoints is not None:
            explicit.setdefault(group.class_name, Skeleton.from_spec(group.keypoints))
        defaults.setdefault(group.class_name, set()).add(_default(group))
    out = dict(explicit)
    for name, options in defaults.items():
        if name not in out and len(options) == 1 and None not in options:
            out[name] = next(iter(options))
    return {n: out[n] for n in spec.class_names if n in out}


def skeleton_conflicts(spec: RecipeSpec) -> list[tuple[str, str]]:
    """(field, message) for every group whose skeleton differs from one an earlier group of its class
    gave: COCO and FiftyOne hold one skeleton per class."""
    first: dict[str, tuple[int, Skeleton]] = {}
    problems = []
    for i, group in enumerate(spec.objects):
        if group.keypoints is None:
            continue
        sk = Skeleton.from_spec(group.keypoints)
        if group.class_name not in first:
            first[group.class_name] = (i, sk)
        elif first[group.class_name][1] != sk:
            problems.append((f"objects.{i}.keypoints", f"differs from objects.{first[group.class_name][0]}.keypoints "
                             f"of the same class {group.class_name!r}; expected one skeleton per class (COCO and "
                             "FiftyOne hold one per class)"))
    return problems

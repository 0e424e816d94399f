"""Hypothesis fuzzing of the command line and of recipe files with malformed recipes and overrides:
every bad input gets exit 2 and one line naming a field, never a traceback, and nothing is written."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synthdata
from synthdata.cli import main
from synthdata.errors import RecipeError, UserError
from synthdata.recipe import spec_to_yaml

FIELDS = ["clip.frames", "clip.width", "clip.height", "clip.fps", "seed", "device", "camera.fov_deg",
          "camera.motion.name", "environment.kind", "environment.tube_radius", "environment.ground.texture",
          "objects.0.count", "objects.0.primitive", "objects.0.size", "objects.0.motion.name",
          "objects.0.material.scale", "objects.1.placement.mode", "backend.name", "backend.supersample",
          "backend.frame_batch", "annotations.masks", "output.crf", "name", "clip.nonsense", "objects.7.count",
          "compute.workers", "compute.shard_size", "compute.retries", "clips", "recipe", "camera.lens.model",
          "camera.lens.k1", "backend.sensor_noise", "backend.rolling_shutter"]

BAD_VALUES = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "null", "abc", "../../etc/passwd", "/etc/shadow", "os.system", "__import__('os')",
                     "{uniform: [5, 1]}", "{poisson: -3}", "{choice: []}", "[1, 2]", "{_target_: os.system}",
                     "${oc.env:HOME}", "true", "1e400", "-0", "cuda:99", "tcp://", "{randint: [0, 10000000]}"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), max_size=12),
)

ARG = st.one_of(
    st.tuples(st.sampled_from(FIELDS), BAD_VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.sampled_from(["+_target_=os.system", "+objects.0._target_=x", "~objects", "hydra.run.dir=/tmp",
                     "recipe=../secrets.yaml", "recipe=shapez", "justaword", "=5", "compute=nope"]),
)


# derandomized: CI explores the same 150 cases every run; SYNTHDATA_FUZZ_EXAMPLES=N hunts wider locally
@settings(max_examples=int(os.environ.get("SYNTHDATA_FUZZ_EXAMPLES", 150)), deadline=None,
          derandomize="SYNTHDATA_FUZZ_EXAMPLES" not in os.environ, suppress_health_check=[HealthCheck.too_slow])
@given(args=st.lists(ARG, min_size=1, max_size=3))
def test_malformed_cli_input(args):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(["generate", "recipe=shapes", "clips=1", f"out={out}", "--dry-run", *args])
            except SystemExit as exc:  # argparse
                rc = exc.code
        lines = err.getvalue().strip().splitlines()
        assert "Traceback" not in err.getvalue()
        assert not out.exists()  # nothing written, whatever happened
        if rc == 0:
            return  # the fuzzer found a valid combination; the dry run wrote nothing
        assert rc == 2, (args, err.getvalue())
        assert lines and all(ln.startswith("error: ") for ln in lines), (args, lines)
        assert len(lines) <= 3  # one line per problem


def test_huge_sizes_are_refused_before_any_allocation():
    for ov in (["clip.width=100000"], ["clip.frames=1000000"], ["clip.frames=1024", "clip.width=2048", "clip.height=2048"],
               ["objects.0.count=1000000"]):
        try:
            synthdata.load_recipe("shapes", ov)
        except UserError as exc:
            assert exc.field.startswith(("clip", "objects.0.count"))
        else:
            raise AssertionError(ov)


# --- recipe files: random YAML structure, aliases, tags, deep nesting, huge scalars -----------------

YAML_SCALARS = st.one_of(
    st.integers(min_value=-10**7, max_value=10**7).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([
        ".nan", ".inf", "-.inf", "1e400", "1e-300", "-0.0", "0x1F", "0o17", "1_000", "1:30", "yes", "off", "null",
        "~", "''", "2020-01-01", "sphere", "box", "ballistic", "static", "raycast", "os.system", "_target_",
        "'${oc.env:HOME}'", "'${oc.decode:\"[1]\"}'", "'${name}'", "'${objects.0.size}'", "'${nope}'", "'a ${name}'",
        "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!binary aGk=", "!!set {a: null}",
        "!!timestamp 2020-01-01", "!custom x", "!!str 5", "!!int x", "!!float y", "*a0", "*a1", "*undefined",
        "'" + "x" * 70_000 + "'", "9" * 5000,
    ]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10).map(lambda t: json.dumps(t)),
)
YAML_KEYS = st.sampled_from([
    "name", "description", "seed", "device", "clip", "frames", "width", "height", "fps", "camera", "fov_deg",
    "position", "look_at", "motion", "params", "vx", "speed", "environment", "kind", "sun", "objects",
    "class_name", "count", "size", "primitive", "material", "texture", "color", "scale", "uniform", "choice",
    "weights", "randint", "poisson", "max", "normal", "defaults", "recipe", "backend", "_self_", "_target_", "<<",
    "1", "yes", "null", "'${oc.env:HOME}'", "[a, b]",
])


def _anchored(node: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(st.sampled_from(["", "", "&a0 ", "&a1 "]), node).map("".join)


YAML_VALUES = st.recursive(
    YAML_SCALARS,
    lambda inner: _anchored(st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        # pairs, not a dict: duplicate keys are part of what is fuzzed
        st.lists(st.tuples(YAML_KEYS, inner), max_size=4).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    )),
    max_leaves=16,
)
_BASE = "name: fuzz\nobjects:\n  - {class_name: a, count: 1}\n"
#: fields that are each valid, so that combinations of them exercise the success path (and round trip)
_VALID = [
    ("description", "'${name}'"), ("seed", "7"), ("device", "cpu"), ("domain", "driving"),
    ("clip", "{frames: 4, width: 32, height: 32, fps: 0.1}"), ("camera", "{motion: {name: static}}"),
    ("camera", "{fov_deg: {choice: [40, {uniform: [50, 60]}]}, position: [1, 2, 3], look_at: '${camera.position}'}"),
    ("environment", "{kind: void, sun: null}"), ("environment", "&env {kind: tube, tube_radius: {choice: [1, {loguniform: [0.5, 2]}]}}"),
    ("objects", "[{class_name: a, count: {poisson: 2}}, {class_name: b, size: [1e-300, 1, 1], motion: {name: ballistic}}]"),
    ("objects", "[&g {class_name: a, material: &m {texture: checker, color: [1, 0, 0]}}, {class_name: b, material: *m}]"),
    ("backend", "{name: raycast, supersample: 2}"), ("output", "{video_codec: h264_lossless}"),
    ("annotations", "{masks: false, normals: true}"),
]


def _valid_doc(parts: tuple[str, list[tuple[str, str]]]) -> str:
    head, fields = parts
    objects = "" if any(k == "objects" for k, _ in fields) else "objects: [{class_name: a}]\n"
    return head + "name: ok\n" + objects + "".join(f"{k}: {v}\n" for k, v in fields)


YAML_DOCS = st.one_of(
    st.tuples(st.sampled_from(["", "defaults:\n  - recipe: highway\n  - _self_\n"]),
              st.lists(st.sampled_from(_VALID), max_size=5, unique_by=lambda kv: kv[0])).map(_valid_doc),
    # a valid base with random fields on top
    st.tuples(st.sampled_from(["", "defaults:\n  - recipe: shapes\n  - _self_\n"]),
              st.lists(st.tuples(YAML_KEYS, YAML_VALUES), max_size=4))
      .map(lambda t: t[0] + _BASE + "".join(f"{k}: {v}\n" for k, v in t[1])),
    YAML_VALUES,
    # billion laughs of random shape, and nesting deeper than any limit
    st.tuples(st.integers(2, 12), st.integers(2, 12)).map(lambda lw: "a0: &a0 [lol]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * lw[1])}]\n" for i in range(1, lw[0]))),
    st.tuples(st.sampled_from(["[", "{a: ", "- "]), st.integers(20, 20_000)).map(lambda t: "name: " + t[0] * t[1]),
)


@settings(max_examples=int(os.environ.get("SYNTHDATA_FUZZ_EXAMPLES", 150)), deadline=None,
          derandomize="SYNTHDATA_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(text=YAML_DOCS)
def test_malformed_yaml_recipe_files(text):
    """A recipe file gives a RecipeSpec (whose resolved YAML loads back equal) or one line per problem,
    never another exception, within a bounded time. Failures found here go to tests/recipe/corpus/."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        start = time.perf_counter()
        try:
            spec = synthdata.load_recipe(str(path))
        except RecipeError as exc:
            assert all("\n" not in line for line in exc.lines()), exc.lines()
        except UserError as exc:
            assert "\n" not in str(exc), str(exc)
        else:
            again = Path(tmp) / "resolved.yaml"
            again.write_text(spec_to_yaml(spec))
            assert synthdata.load_recipe(str(again)) == spec
        assert time.perf_counter() - start < 10, "a recipe file took more than 10 s to refuse"

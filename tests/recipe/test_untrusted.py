"""Recipes are untrusted data: a recipe file or override never reads the environment, never expands
without bound, never builds Python objects, and every bad one is a single ``field: …`` line (exit 2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import synthdata
from synthdata.cli import main
from synthdata.errors import RecipeError, UserError
from synthdata.recipe import load_recipe
from synthdata.recipe.yamlsafe import YAML_LIMITS

from ..conftest import TINY

HEAD = "defaults:\n  - recipe: shapes\n  - _self_\nname: mine\n"

#: 272 bytes that PyYAML + OmegaConf expand into 9**7 strings (minutes and gigabytes before the fix)
BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def _file(tmp_path: Path, text: str, name: str = "r.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _one_line_error(recipe: str, overrides: list[str] = ()) -> UserError:
    with pytest.raises(UserError) as info:
        load_recipe(recipe, list(overrides))
    assert "\n" not in str(info.value), str(info.value)
    return info.value


@pytest.mark.parametrize("value", [
    "${oc.env:SYNTHDATA_TEST_SECRET}", "${oc.env:SYNTHDATA_TEST_UNSET}", "${oc.decode:'[1, 2]'}",
    "${leak:x}", "prefix ${name}", "${.name}", "${oc.select:name}",
])
def test_interpolations_other_than_plain_references_are_refused(tmp_path, monkeypatch, value):
    """Resolvers would copy the environment (or anything a plugin registered) into dataset.json."""
    monkeypatch.setenv("SYNTHDATA_TEST_SECRET", "hunter2")
    OmegaConf.register_new_resolver("leak", lambda x: "hunter2", replace=True)
    try:
        err = _one_line_error(_file(tmp_path, HEAD + f"description: \"{value}\"\n"))
        assert err.field == "description" and "hunter2" not in str(err) and "not allowed" in str(err)
        err = _one_line_error("shapes", [f"description='{value}'"])
        assert err.field == "description" and "hunter2" not in str(err)
    finally:
        OmegaConf.clear_resolver("leak")


def test_plain_references_resolve_within_the_recipe(tmp_path):
    spec = load_recipe(_file(tmp_path, HEAD + "description: ${name}\ncamera: {look_at: '${camera.position}'}\n"),
                       ["camera.position=[1, 2, 3]"])
    assert spec.description == "mine" and spec.camera.look_at == spec.camera.position == (1, 2, 3)


@pytest.mark.parametrize("body, field, words", [
    ("description: ${description}\n", "description", "refers back to itself"),
    ("description: ${nowhere.at_all}\n", "description", "does not have"),
])
def test_bad_references_name_the_field(tmp_path, body, field, words):
    err = _one_line_error(_file(tmp_path, HEAD + body))
    assert err.field == field and words in str(err)


def test_alias_bomb_is_refused_in_milliseconds(tmp_path):
    path = _file(tmp_path, BOMB)
    assert len(BOMB) == 272
    start = time.perf_counter()
    err = _one_line_error(path)
    assert time.perf_counter() - start < 1.0
    assert err.field == path and "expands to more than" in str(err)


def test_aliases_within_the_budget_work_and_stay_independent(tmp_path):
    """Anchors are useful (one paint for many groups); an override of one group must not leak into
    the other through the shared YAML node."""
    text = HEAD + ("objects:\n"
                   "  - {class_name: a, material: &paint {texture: flat, color: [1, 0, 0]}}\n"
                   "  - {class_name: b, material: *paint}\n")
    spec = load_recipe(_file(tmp_path, text), ["objects.0.material.color=[0, 0, 1]"])
    assert spec.objects[0].material.color == (0, 0, 1) and spec.objects[1].material.color == (1, 0, 0)


@pytest.mark.parametrize("text, words", [
    ("name: [1, 2\n", "line 2: expected ',' or ']'"),
    ("name: a\nclip: {frames: 4}\nname: b\n", "line 3: duplicate key 'name' (first at line 1)"),
    ("name: !!python/object/apply:os.system ['true']\n", "tag !!python/object/apply:os.system is not allowed"),
    ("name: !!python/name:os.system\n", "tag !!python/name:os.system is not allowed"),
    ("name: !!binary aGk=\n", "tag !!binary is not allowed"),
    ("name: !custom x\n", "tag !custom is not allowed"),
    ("name: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than 32 levels"),
    ("a: &a [*a]\n", "refers to the collection that contains it"),
    ("name: *nothing\n", "undefined alias"),
    ("name: '" + "x" * (YAML_LIMITS["max_scalar_chars"] + 1) + "'\n", "longer than"),
    ("seed: " + "9" * 5000 + "\n", "could not be read"),
    ("1: x\n", "key 1 is not a name"),
    ("name: a\n---\nname: b\n", "expected a single document"),
    ("name:\n\t- a\n", "cannot start any token"),
    ("- name: a\n", "expected a mapping of recipe fields, got a list"),
    ("", "got an empty file"),
    ("# " + "x" * YAML_LIMITS["max_bytes"] + "\n", "larger than"),
])
def test_bad_yaml_is_one_line_naming_the_file(tmp_path, text, words):
    path = _file(tmp_path, text)
    err = _one_line_error(path)
    assert err.field == path and words in str(err), str(err)


def test_a_file_is_read_by_the_bounded_loader_before_anything_else(tmp_path):
    """A bomb behind a valid defaults list is caught as well: Hydra/OmegaConf never see the file."""
    err = _one_line_error(_file(tmp_path, HEAD + "description: x\n" + BOMB))
    assert "expands to more than" in str(err)


@pytest.mark.parametrize("overrides, text, field, words", [
    (["backend=../recipe/highway"], None, "backend", "expected one of diffusers_pipeline, diffusion, raycast"),
    (["backend=/etc/passwd"], None, "backend", "expected one of"),
    (["recipe=../../secrets"], None, "recipe", "expected one of"),
    ([], "defaults:\n  - override /backend: ../recipe/highway\n  - _self_\n", "defaults.backend", "expected one of"),
    ([], "defaults:\n  - recipe: ../../etc/x\n", "defaults.recipe", "expected one of"),
    ([], "defaults:\n  - sibling_file\n  - _self_\n", "defaults", "expected a list of"),
    ([], "defaults:\n  - compute: local\n", "defaults", "expected a list of"),
    ([], "defaults:\n  - _self_\n  - recipe: shapes\n", "defaults", "_self_ must come last"),
])
def test_config_groups_take_only_shipped_names(tmp_path, overrides, text, field, words):
    recipe = _file(tmp_path, text + "name: x\n") if text else "shapes"
    err = _one_line_error(recipe, overrides)
    assert err.field == field and words in str(err), str(err)


def test_defaults_pick_shipped_recipe_and_backend(tmp_path):
    spec = load_recipe(_file(tmp_path, "defaults:\n  - recipe: highway\n  - override /backend: raycast\n"
                                       "  - _self_\nname: mine\n"))
    assert spec.domain == "driving" and spec.backend.name == "raycast"


@pytest.mark.parametrize("override, field", [
    ("objects.0.material.scale=nan", "objects.0.material.scale"),
    ("camera.fov_deg=nan", "camera.fov_deg"),
    ("environment.ambient=inf", "environment.ambient"),
    ("environment.fog_density=-1e400", "environment.fog_density"),
    ("objects.0.placement.x={uniform: [-1e308, 1e308]}", "objects.0.placement.x.uniform.0"),
    ("camera.position=[0, -1e-300, 1e300]", "camera.position.2"),
    ("objects.0.count={poisson: 1e300}", "objects.0.count.poisson"),
    ("clip.fps=1e-300", "clip.fps"),
    ("objects.0.count={choice: [a, b]}", "objects.0.count"),
    ("camera.fov_deg={choice: [wide]}", "camera.fov_deg"),
    ("objects.0.motion={name: ballistic, params: {vx: [0, 0, 1]}}", "objects.0.motion.params.vx"),
])
def test_values_generate_would_fail_on_are_refused_at_validation(tmp_path, override, field):
    """Each of these passed validation and then failed inside generate (NaN to int, numpy overflow,
    a singular camera matrix, int('a'), a vector where a motion takes one number per object)."""
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe(_file(tmp_path, "name: t\nobjects:\n  - {class_name: a}\n"), [override])
    assert info.value.problems[0][0] == field, info.value.problems


def test_tiny_positive_scales_work_end_to_end(tmp_path):
    """1e-300 where a positive scale is expected: refused where it breaks (fps, above), clamped and
    rendered where it does not."""
    ov = ["objects.0.size=[1e-300, 1e-300, 1e-300]", "environment.headlight.falloff=1e-300",
          "objects.0.material.shininess=1e-300", "environment.fog_density=1e-300", "clip.fps=0.1"]
    m = synthdata.generate("shapes", clips=1, out=tmp_path / "out", overrides=[*TINY, *ov],
                           compute={"name": "sync"}, progress=False)
    assert m.stats["rows"]["clips"] == 1


@pytest.mark.parametrize("make", [
    lambda d: [_file(d, BOMB)],
    lambda d: [_file(d, HEAD + "description: ${oc.env:HOME}\n")],
    lambda d: [_file(d, "name: a\nname: b\n")],
    lambda d: [_file(d, "name: !!python/object/apply:os.system ['true']\n")],
    lambda d: ["shapes", "backend=../recipe/highway"],
    lambda d: ["shapes", "objects.0.material.scale=nan"],
])
def test_cli_validate_exits_2_with_one_line(tmp_path, capsys, make):
    assert main(["validate", *make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err

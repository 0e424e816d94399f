import json
from pathlib import Path

import pytest

import synthdata
from synthdata.errors import RecipeError, UserError
from synthdata.recipe import list_recipes
from synthdata.recipe.jsonschema import recipe_json_schema

from ..conftest import REPO


def test_shipped_recipes_load_and_are_listed():
    names = [n for n, _ in list_recipes()]
    assert {"shapes", "highway", "colonoscopy"} <= set(names)
    for name, desc in list_recipes():
        spec = synthdata.load_recipe(name)
        assert spec.name == name and desc
    assert synthdata.load_recipe("highway").domain == "driving"
    assert synthdata.load_recipe("colonoscopy").environment.kind == "tube"


def test_overrides_apply_with_hydra_grammar():
    spec = synthdata.load_recipe("shapes", ["clip.frames=8", "clip.width=64", "seed=7", "backend.supersample=2"])
    assert (spec.clip.frames, spec.clip.width, spec.seed, spec.backend.supersample) == (8, 64, 7, 2)


def test_user_recipe_by_path_extends_a_shipped_one(tmp_path: Path):
    path = tmp_path / "my_recipe.yaml"
    path.write_text("defaults:\n  - recipe: shapes\n  - _self_\nname: mine\nclip: {frames: 5}\n")
    spec = synthdata.load_recipe(str(path), ["clip.width=48"])
    assert (spec.name, spec.clip.frames, spec.clip.width) == ("mine", 5, 48)
    assert spec.class_names == synthdata.load_recipe("shapes").class_names


def test_resolved_recipe_yaml_round_trips(tmp_path: Path):
    from synthdata.recipe import spec_to_yaml

    spec = synthdata.load_recipe("highway", ["seed=3"])
    path = tmp_path / "resolved.yaml"
    path.write_text(spec_to_yaml(spec))
    assert synthdata.load_recipe(str(path)) == spec


def test_content_hash_ignores_seed_and_device_only():
    a = synthdata.load_recipe("shapes")
    assert a.content_hash() == synthdata.load_recipe("shapes", ["seed=5", "device=cpu"]).content_hash()
    for change in (["clip.frames=5"], ["backend.supersample=2"], ["output.crf=20"], ["annotations.flow=false"],
                   ["description=x"]):
        assert a.content_hash() != synthdata.load_recipe("shapes", change).content_hash(), change


def test_layout_hash_covers_what_shapes_scenes_only():
    """Clip seeds come from it: renaming or re-describing a recipe, or another backend/codec/label set,
    keeps every scene; anything that changes scenes changes it."""
    a = synthdata.load_recipe("shapes")
    for same in (["name=renamed"], ["description=typo fixed"], ["domain=driving"], ["backend.supersample=2"],
                 ["output.crf=20"], ["annotations.flow=false"], ["seed=4"], ["device=cpu"]):
        assert a.layout_hash() == synthdata.load_recipe("shapes", same).layout_hash(), same
    for other in (["clip.frames=5"], ["clip.width=128"], ["camera.fov_deg=50"], ["objects.0.count=1"],
                  ["environment.ambient=0.5"]):
        assert a.layout_hash() != synthdata.load_recipe("shapes", other).layout_hash(), other


@pytest.mark.parametrize("recipe, overrides, field, words", [
    ("shapez", [], "recipe", "did you mean 'shapes'"),
    ("../../etc/passwd", [], "recipe", "expected a recipe name (letters, digits, _ or -) or a .yaml path"),
    ("..", [], "recipe", "expected a recipe name (letters, digits, _ or -) or a .yaml path"),
    ("./missing.yaml", [], "recipe", "not found"),
    ("shapes", ["clip.width=-3"], "clip.width", "greater than or equal to 16"),
    ("shapes", ["clip.width=33"], "clip.width", "even"),
    ("shapes", ["clip.frames=abc"], "clip.frames", "integer"),
    ("shapes", ["clip.fooo=1"], "clip.fooo", "unknown field"),
    ("shapes", ["clip.frames=1024", "clip.width=2048", "clip.height=2048"], "clip", "limit"),
    ("shapes", ["objects.0.count=1000"], "objects.0.count", "[0, 256]"),
    ("shapes", ["objects.0.motion.name=balistic"], "objects.0.motion.name", "did you mean 'ballistic'"),
    ("shapes", ["objects.0.primitive=os.system"], "objects.0.primitive", "unknown primitive"),
    ("shapes", ["backend.name=raycats"], "backend.name", "did you mean 'raycast'"),
    ("shapes", ["+objects.0.motion.params.warp=3"], "objects.0.motion.params.warp", "unknown parameter"),
    ("shapes", ["+_target_=os.system"], "_target_", "not allowed"),
    ("shapes", ["device=tpu"], "device", "expected auto, cpu, cuda or cuda:<index>"),
])
def test_bad_input_names_the_field(recipe, overrides, field, words):
    with pytest.raises(UserError) as info:
        synthdata.load_recipe(recipe, overrides)
    assert info.value.field == field
    assert words in str(info.value)


def test_target_in_a_user_file_is_refused(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    path.write_text("defaults:\n  - recipe: shapes\n  - _self_\nname: evil\ncamera:\n  motion:\n    _target_: os.system\n")
    with pytest.raises(UserError, match="camera.motion._target_"):
        synthdata.load_recipe(str(path))


def test_several_problems_are_reported_together():
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", ["objects.0.primitive=blob", "objects.1.material.texture=plaid"])
    fields = [f for f, _ in info.value.problems]
    assert fields == ["objects.0.primitive", "objects.1.material.texture"]


def test_json_schema_is_current():
    """schemas/recipe.schema.json is generated: `python -m synthdata.run.schema > schemas/recipe.schema.json`."""
    from synthdata.run.schema import shipped_recipe_schema

    committed = (REPO / "schemas" / "recipe.schema.json").read_text()
    assert committed == shipped_recipe_schema(), "schemas/recipe.schema.json is stale; regenerate it"
    assert "RecipeSpec" in json.loads(committed)["title"]
    assert json.loads(recipe_json_schema())["$defs"]["BackendSpec"]["additionalProperties"] is True


def test_json_schema_holds_each_backend_to_its_own_settings():
    """Editors validating against the schema see what check_recipe sees: shipped recipes pass with
    each backend, a ray-cast recipe with a diffusion setting does not."""
    import jsonschema

    from synthdata.recipe.loading import compose_recipe

    schema = json.loads((REPO / "schemas" / "recipe.schema.json").read_text())
    for recipe in ("shapes", "highway", "colonoscopy"):
        jsonschema.validate(synthdata.load_recipe(recipe).model_dump(mode="json", exclude_none=True), schema)
        for backend in ("raycast", "diffusion", "diffusers_pipeline"):
            jsonschema.validate(compose_recipe(recipe, [f"backend={backend}"]), schema)
    data = compose_recipe("shapes")
    data["backend"]["guidance"] = 2.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_a_shipped_recipe_is_composed_once_and_an_edit_is_seen(tmp_path: Path, monkeypatch):
    """Compositions are cached per process (a sweep loads the same recipe again and again), yet a
    shipped file edited in a checkout is read afresh, and a caller's changes never reach the cache."""
    import shutil

    from synthdata.recipe import loading

    tree = tmp_path / "recipes"
    shutil.copytree(loading.config_dir(), tree)
    monkeypatch.setattr(loading, "config_dir", lambda: tree)
    calls = []
    compose = loading._compose
    monkeypatch.setattr(loading, "_compose", lambda groups: calls.append(groups) or compose(groups))
    a = loading._compose_shipped({"recipe": "shapes"})
    a["clip"]["frames"] = 1  # the caller's copy
    b = loading._compose_shipped({"recipe": "shapes"})
    assert b["clip"]["frames"] == 24 and len(calls) == 1
    shapes = tree / "recipe" / "shapes.yaml"
    shapes.write_text(shapes.read_text().replace("frames: 24", "frames: 30"))
    assert loading._compose_shipped({"recipe": "shapes"})["clip"]["frames"] == 30 and len(calls) == 2
    assert synthdata.load_recipe("shapes").clip.frames == 30

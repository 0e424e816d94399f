"""Overrides and user files merge by one rule: a distribution or a switched motion is replaced, never
merged into the old one (a merge mixed ``{randint}`` with ``{choice}``, or one motion's params into
another's); sections merge key by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import synthdata
from synthdata.errors import UserError
from synthdata.recipe import draw, load_recipe
from synthdata.recipe.distributions import IntChoice, Poisson, Uniform

HEAD = "defaults:\n  - recipe: shapes\n  - _self_\nname: mine\n"


def test_a_distribution_override_replaces_the_old_one():
    spec = load_recipe("shapes", ["objects.0.count={choice: [1, 2]}", "camera.fov_deg={uniform: [40, 50]}"])
    assert spec.objects[0].count == IntChoice(choice=[1, 2])
    assert spec.camera.fov_deg == Uniform(uniform=(40, 50))


def test_a_constant_or_vector_replaces_a_distribution():
    spec = load_recipe("shapes", ["objects.0.size=[1, 1, 1]", "objects.0.count=3"])
    assert spec.objects[0].size == (1, 1, 1) and spec.objects[0].count == 3


def test_a_bound_of_a_distribution_can_still_be_set_alone():
    assert load_recipe("shapes", ["objects.0.count.randint.1=9"]).objects[0].count.randint == (2, 9)


@pytest.mark.parametrize("overrides", [
    ["objects.0.motion.name=random_walk", "objects.0.motion.params.speed=2"],
    ["objects.0.motion.params.speed=2", "objects.0.motion.name=random_walk"],
    ["objects.0.motion={name: random_walk, params: {speed: 2}}"],
])
def test_switching_a_motion_drops_the_old_motions_params(overrides):
    """shapes' sphere is ballistic (vx, vy, vz, restitution); random_walk knows none of them."""
    motion = synthdata.load_recipe("shapes", overrides).objects[0].motion
    assert motion.name == "random_walk" and motion.params == {"speed": 2.0}


def test_a_params_only_override_keeps_the_motion_and_its_other_params():
    motion = load_recipe("shapes", ["objects.0.motion={params: {vx: 2}}"]).objects[0].motion
    assert motion.name == "ballistic" and motion.params["vx"] == 2.0 and set(motion.params) >= {"vy", "vz"}
    assert load_recipe("shapes", ["camera.motion.name=static"]).camera.motion.params == {}


def test_a_section_mapping_merges_key_by_key():
    spec = load_recipe("shapes", ["clip={frames: 8}"])
    assert (spec.clip.frames, spec.clip.width) == (8, 256)


def test_user_files_merge_by_the_same_rule(tmp_path: Path):
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + "camera: {motion: {name: static}}\nenvironment: {sun: {elevation_deg: 5}}\n")
    spec = synthdata.load_recipe(str(path))
    assert spec.camera.motion.params == {}
    assert spec.environment.sun.elevation_deg == 5 and isinstance(spec.environment.sun.azimuth_deg, Uniform)


def test_deleting_and_missing_items():
    assert len(load_recipe("shapes", ["~objects.1"]).objects) == 2
    with pytest.raises(UserError) as info:
        load_recipe("shapes", ["objects.9.count=1"])
    assert info.value.field == "objects.9" and "list of 3" in str(info.value)
    with pytest.raises(UserError, match="cannot be deleted"):
        load_recipe("shapes", ["~clip.nothing"])
    with pytest.raises(UserError, match="sweeps"):
        load_recipe("shapes", ["seed=1,2"])


def test_a_poisson_count_is_clipped_to_the_group_limit():
    """docs/recipes.md lists {poisson: lam}; a count's poisson draws are clipped at 256 objects."""
    group = load_recipe("shapes", ["objects.0.count={poisson: 1000}"]).objects[0]
    assert group.count == Poisson(poisson=1000, max=256)
    rng = np.random.default_rng(0)
    assert max(draw(group.count, rng) for _ in range(50)) == 256
    assert load_recipe("shapes", ["objects.0.count={poisson: 3, max: 5}"]).objects[0].count.max == 5
    with pytest.raises(UserError, match=r"count must lie in \[0, 256\]"):
        load_recipe("shapes", ["objects.0.count={poisson: 3, max: 300}"])
    with pytest.raises(UserError, match="give it a max"):
        load_recipe("shapes", ["camera.fov_deg={poisson: 60}"])


@pytest.mark.parametrize("override,field,says", [
    ("environment.fog_density=-1", "environment.fog_density", "fog_density must lie in [0, 10]"),
    ("environment.ambient=-1", "environment.ambient", "ambient must lie in [0, 4]"),
    ("environment.sun.intensity=-3", "environment.sun.intensity", "intensity must lie in [0, 10000]"),
    ("environment.headlight.intensity=-1", "environment.headlight.intensity", "intensity must lie in [0, 10000]"),
    ("environment.headlight.falloff=-1", "environment.headlight.falloff", "falloff must lie in [0, 10000]"),
    ("environment.sky_top=[2,-1,0]", "environment.sky_top", "colour channels must lie in [0, 1], got [2, -1, 0]"),
    ("environment.sun.color=[1,1,-0.5]", "environment.sun.color", "colour channels must lie in [0, 1]"),
    ("objects.0.material.color=[1.5,0,0]", "objects.0.material.color", "colour channels must lie in [0, 1]"),
    ("objects.0.material.color2={choice: [[0,0,0], [0,0,3]]}", "objects.0.material.color2",
     "colour channels must lie in [0, 1]"),
    ("objects.0.material.specular=-0.2", "objects.0.material.specular", "specular must lie in [0, 10]"),
    ("objects.0.material.tint=3", "objects.0.material.tint", "tint must lie in [0, 1]"),
    ("environment.ambient={uniform: [0.1, 9]}", "environment.ambient", "ambient must lie in [0, 4]"),
])
def test_light_and_colour_values_outside_their_range_are_refused(override, field, says):
    """Found by a new-user review: negative fog, ambient and light intensities and colours outside
    [0, 1] validated "ok" and rendered clipped pixels. Distributions are checked over their support."""
    with pytest.raises(UserError) as info:
        load_recipe("shapes", [override])
    assert info.value.field == field and says in info.value.message, str(info.value)


@pytest.mark.parametrize("recipe,override,field,says", [
    ("shapes", "objects.0.size=[-1,1,1]", "objects.0.size", "extents must be > 0 (metres), got [-1, 1, 1]"),
    ("shapes", "objects.0.size=[0,1,1]", "objects.0.size", "extents must be > 0 (metres), got [0, 1, 1]"),
    ("shapes", "objects.1.size=[{uniform: [-1, 1]},1,1]", "objects.1.size", "extents must be > 0"),
    ("shapes", "objects.0.size={choice: [[1,1,1], [1,0,1]]}", "objects.0.size", "extents must be > 0"),
    ("highway", "objects.0.parts.0.size=[1,-0.5,0.4]", "objects.0.parts.0.size",
     "fractions of the half-size must be > 0"),
])
def test_sizes_must_be_positive(recipe, override, field, says):
    """Found by a new-user review: negative and zero sizes validated "ok" and were quietly changed (the
    sign dropped, zero made 2 mm); a uniform size reaching below zero was blamed on the count."""
    with pytest.raises(UserError) as info:
        load_recipe(recipe, [override])
    assert info.value.field == field and says in info.value.message, str(info.value)


@pytest.mark.parametrize("recipe,override,says", [
    ("polyp_detection", "objects.0.shape.params.size_mm={uniform: [0.2, 0.9]}", "(its end 0.2)"),
    ("colonoscopy", "objects.1.shape.params.count={uniform: [1, 30]}", "(its end 30)"),
])
def test_a_shape_parameters_range_is_checked_at_both_ends(recipe, override, says):
    """Found by a docs-vs-code review: `validate` said ok to a range whose ends the shape builder
    refuses; `generate` then failed mid-run with a traceback and pydantic's URL line."""
    with pytest.raises(UserError) as info:
        synthdata.load_recipe(recipe, [override])  # the API's: composed and checked, as validate does
    assert info.value.field == override.split("=")[0] and says in info.value.message, str(info.value)

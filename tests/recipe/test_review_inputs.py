"""Recipe inputs a new-user review found mishandled (2026-12-06): booleans read as numbers, and
whole-recipe checks naming the recipe instead of their field."""

from __future__ import annotations

import pytest

import synthdata
from synthdata.errors import RecipeError, UserError


@pytest.mark.parametrize("override,field", [
    ("clip.frames=true", "clip.frames"),
    ("seed=true", "seed"),
    ("objects.0.size=[1,1,true]", "objects.0.size.2"),
    ("camera.fov_deg={normal: [50, true]}", "camera.fov_deg.normal.1"),
    # false is read as 0 and then refused by the field's range: the range's message hid the reason
    ("camera.fov_deg=false", "camera.fov_deg"),
    ("clip.frames=false", "clip.frames"),
    ("objects.0.count=false", "objects.0.count"),
])
def test_a_number_field_refuses_a_boolean(override, field):
    """pydantic's lax mode read true as 1 (``camera.fov_deg=true`` rendered at 1°) while a string was
    refused."""
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [override])
    assert info.value.problems[0] == (field, "expected a number, got a boolean (true/false)")


def test_booleans_stay_booleans_where_fields_are_switches():
    spec = synthdata.load_recipe("shapes", ["annotations.normals=true", "annotations.flow=false"])
    assert spec.annotations.normals is True and spec.annotations.flow is False


@pytest.mark.parametrize("override,field", [
    ("objects.0.placement.mode=lane", "objects.0.placement.mode"),
    ("camera.lane=0.5", "camera.lane"),
])
def test_whole_recipe_checks_name_their_field(override, field):
    """They said ``recipe: objects[0].placement.mode: …``: the field in the message, not as the field."""
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [override])
    assert info.value.problems[0][0] == field and "needs environment.road" in info.value.problems[0][1]


def test_a_cycle_of_references_is_named_as_one():
    with pytest.raises(UserError) as info:
        synthdata.load_recipe("shapes", ["clip.frames=${clip.width}", "clip.width=${clip.frames}"])
    assert (info.value.field, info.value.message) == ("clip.frames", "references form a cycle: clip.frames → clip.width → "
                                                                     "clip.frames")
    with pytest.raises(UserError, match=r"\$\{clip\.frames\} refers back to itself"):
        synthdata.load_recipe("shapes", ["clip.frames=${clip.frames}"])


def test_a_huge_value_is_cut_in_the_error_line():
    """``description=${objects}`` echoed the whole objects list (several KB) as the "got"."""
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", ["description=${objects}"])
    field, message = info.value.problems[0]
    assert field == "description" and len(message) < 200 and message.endswith("…)")


def test_a_normal_mostly_outside_a_fields_range_is_refused():
    """``camera.fov_deg={normal: [50, 1000]}`` was accepted, then nearly every draw clipped to 1° or 170°
    without a word. A normal is checked by its mu ± 3 sigma; one well inside passes."""
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", ["camera.fov_deg={normal: [50, 1000]}"])
    field, message = info.value.problems[0]
    assert field == "camera.fov_deg" and "mu ± 3 sigma must lie in the range" in message
    assert synthdata.load_recipe("shapes", ["camera.fov_deg={normal: [50, 10]}"]).camera.fov_deg.normal == (50, 10)

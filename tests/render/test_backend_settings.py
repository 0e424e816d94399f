"""The backend contract: each backend validates its own settings, plug-in backends can have settings,
and nothing probes backends with getattr."""

from __future__ import annotations

import pytest
import torch
from pydantic import Field

import synthdata
from synthdata.errors import RecipeError, UserError
from synthdata.render import BACKENDS, Backend, Frames
from synthdata.render.backend import BackendSettings, make_backend
from synthdata.render.diffusion import DiffusionSettings
from synthdata.render.raycast import RaycastBackend, RaycastSettings

from ..conftest import TINY, SYNC2, make_tiny_clip, tiny_spec


class TintSettings(BackendSettings):
    gain: float = Field(1.0, ge=0.0, le=4.0)
    batch: int = Field(1, ge=1)

    @property
    def clips_per_batch(self) -> int:
        return self.batch


class TintBackend(Backend):
    """A plug-in backend: the ray-caster's frames with RGB scaled by a setting."""

    name = "tint"
    Settings = TintSettings
    calls: list[int] = []

    def __init__(self, settings=None, device="cpu"):
        super().__init__(settings, device)
        self.raycast = RaycastBackend(RaycastSettings(), self.device)

    def render(self, scene, traj) -> Frames:
        f = self.raycast.render(scene, traj)
        rgb = (f.rgb.float() * self.settings.gain).clamp(0, 255).to(torch.uint8)
        return Frames(**{**vars(f), "rgb": rgb})

    def render_many(self, items):
        TintBackend.calls.append(len(items))
        return super().render_many(items)


@pytest.fixture
def tint():
    BACKENDS.register("tint", TintBackend)
    yield TintBackend
    BACKENDS._items.pop("tint")
    TintBackend.calls.clear()


def _problems(*overrides: str) -> list[str]:
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [*TINY, *overrides])
    return info.value.lines()


def test_raycast_refuses_settings_of_other_backends():
    lines = _problems("backend.guidance=3")
    assert lines == ["backend.guidance: unknown setting of backend 'raycast'; expected one of: supersample, shadows, "
                     "frame_batch, batch_kilorays, motion_blur, shutter, sensor_noise, rolling_shutter, rolling_bands, "
                     "defocus, cpu_kernels"]
    assert _problems("backend.frame_batch=0") == ["backend.frame_batch: Input should be greater than or equal to 1 "
                                                  "(got 0)"]


def test_generator_settings_are_checked_by_their_backend():
    assert _problems("backend=diffusion", "backend.supersample=2")[0].startswith(
        "backend.supersample: unknown setting of backend 'diffusion'")
    assert _problems("backend=diffusion", "backend.raycast.supersample=3")[0].startswith("backend.raycast.supersample:")


def test_resolved_recipe_names_every_default():
    """check_recipe fills in each backend's defaults, so the recipe hash does not depend on which were spelt out."""
    given = tiny_spec("shapes", "backend.frame_batch=8")
    bare = synthdata.load_recipe("shapes", [*TINY, "~backend.frame_batch", "~backend.shadows"])
    assert bare.backend.settings == given.backend.settings == {"supersample": "adaptive", "shadows": True,
                                                               "frame_batch": 8, "motion_blur": 1, "shutter": 0.5,
                                                               "sensor_noise": None}
    assert bare.content_hash() == given.content_hash()


def test_switching_backend_by_name_drops_the_old_settings():
    spec = synthdata.recipe.loading.load_recipe("shapes", ["backend.name=diffusion", "backend.steps=3"])
    assert spec.backend.settings == {"steps": 3}


def test_generator_hands_its_raycaster_a_raycast_settings_object():
    s = DiffusionSettings(raycast={"supersample": 2, "frame_batch": 2})
    assert isinstance(s.raycast, RaycastSettings) and s.rays_per_pixel == 4 and s.clips_per_batch == 8


def test_backend_refuses_another_backends_settings_object():
    with pytest.raises(TypeError, match="RaycastBackend takes RaycastSettings, got DiffusionSettings"):
        RaycastBackend(DiffusionSettings(), "cpu")


def test_plugin_backend_has_settings_and_batches(tint, tmp_path):
    spec = tiny_spec("shapes", "backend.name=tint", "backend.gain=0.5", "backend.batch=2")
    assert spec.backend.settings == {"gain": 0.5, "batch": 2}
    backend = make_backend(spec.backend, "cpu")
    assert backend.clip_batch == 2
    plain = make_tiny_clip(tiny_spec("shapes"), seed=1).frames
    dim = backend.render(make_tiny_clip(spec, seed=1).scene, make_tiny_clip(spec, seed=1).traj)
    assert torch.equal(dim.rgb, (plain.rgb.float() * 0.5).to(torch.uint8))
    assert _problems("backend.name=tint", "backend.gain=9")[0].startswith("backend.gain: Input should be less")
    assert _problems("backend.name=tint", "backend.gamma=1") == [
        "backend.gamma: unknown setting of backend 'tint'; expected one of: gain, batch"]
    synthdata.generate(spec, clips=4, out=tmp_path / "ds", compute=SYNC2)
    assert len(synthdata.open_dataset(tmp_path / "ds")) == 4 and TintBackend.calls == [2, 2]  # the shard runner honours clips_per_batch


def test_a_registered_non_backend_is_refused(tint):
    BACKENDS._items["tint"] = object
    with pytest.raises(UserError, match="backend.name: 'tint' is registered as .* not a synthdata.render.Backend"):
        tiny_spec("shapes", "backend.name=tint")

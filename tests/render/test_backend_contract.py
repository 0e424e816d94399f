"""The contract every Backend passes (diffusers' pipeline-tester-mixin idea): subclass and set ``backend``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthdata.render import BACKENDS, Backend, Frames, make_backend

from ..conftest import make_tiny_clip, tiny_spec


class BackendContract:
    """``backend_overrides`` is a fixture so a backend can depend on others (e.g. a trained checkpoint)."""

    backend_name: str

    @pytest.fixture(scope="class")
    @classmethod
    def backend_overrides(cls) -> list[str]:
        return []

    @pytest.fixture(scope="class")
    @classmethod
    def clip(cls, backend_overrides):
        return make_tiny_clip(tiny_spec("shapes", f"backend.name={cls.backend_name}", "clip.width=48",
                                        *backend_overrides), seed=1)

    def test_is_registered_and_satisfies_protocol(self, backend_overrides):
        spec = tiny_spec("shapes", f"backend.name={self.backend_name}", *backend_overrides)
        backend = make_backend(spec.backend, "cpu")
        assert self.backend_name in BACKENDS
        assert isinstance(backend, Backend)

    def test_shapes_and_dtypes(self, clip):
        f: Frames = clip.frames
        T, H, W, N = 4, 32, 48, len(clip.scene.objects)
        assert f.rgb.shape == (T, H, W, 3) and f.rgb.dtype == torch.uint8
        assert f.instance.shape == (T, H, W) and f.instance.dtype == torch.int32
        assert f.amodal.shape == (T, N, H, W) and f.amodal.dtype == torch.bool
        assert f.depth.shape == (T, H, W) and f.depth.dtype == torch.float32
        assert f.normals.shape == f.surface.shape == (T, H, W, 3)
        assert f.flow_fwd.shape == f.flow_bwd.shape == (T, H, W, 2)
        assert int(f.instance.min()) >= 0 and int(f.instance.max()) <= N

    def test_deterministic(self, clip):
        again = make_tiny_clip(clip.spec, seed=1).frames
        for name, value in vars(clip.frames).items():
            if value is None:  # optional maps (Frames.part) absent in both
                assert getattr(again, name) is None, name
                continue
            assert torch.equal(value.nan_to_num(), getattr(again, name).nan_to_num()), name

    def test_visible_is_inside_amodal_and_has_depth(self, clip):
        f = clip.frames
        N = f.amodal.shape[1]
        vis = f.instance[:, None] == torch.arange(1, N + 1, dtype=torch.int32)[None, :, None, None]
        assert not (vis & ~f.amodal).any()
        assert torch.isfinite(f.depth[f.instance > 0]).all()

    def test_pictures_are_not_blank(self, clip):
        rgb = clip.frames.rgb.float()
        assert rgb.std() > 10  # a real picture, not a constant
        assert (clip.frames.instance > 0).any()


class TestRaycastContract(BackendContract):
    backend_name = "raycast"

"""``backend.batch_kilorays``: large frames are ray-cast fewer at a time, so a trace batch's memory is
bounded by rays, not by frame size × ``frame_batch``; shipped sizes keep their batches and bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import synthdata
from synthdata.render import make_backend
from synthdata.render.raycast.backend import BATCH_KILORAYS, RaycastSettings
from synthdata.run.check import _LATER_SETTINGS
from synthdata.run.memory import PER_RAY, PER_RAY_PER_OBJECT, clip_bytes, max_objects, worker_bytes
from synthdata.run.pipeline import layout_clip
from synthdata.run.timing import StageTimer

from ..conftest import TINY, tiny_spec
from ..run.test_memory_model import CLIP, ROOT

MAPS = ("rgb", "instance", "amodal", "depth", "normals", "flow_fwd", "flow_bwd", "surface")


def test_frames_per_batch_is_bounded_by_rays():
    s = RaycastSettings()
    assert s.frames_per_batch(256, 256) == 8 and s.frames_per_batch(320, 192) == 8  # shipped sizes: unchanged
    assert s.frames_per_batch(640, 360) == 2 and s.frames_per_batch(1280, 720) == 1
    assert s.frames_per_batch(3840, 2160) == 1  # never less than one frame
    assert RaycastSettings(supersample=1).frames_per_batch(640, 360) == 4  # one ray per pixel
    assert RaycastSettings(frame_batch=3).frames_per_batch(32, 32) == 3
    assert _LATER_SETTINGS["batch_kilorays"] == BATCH_KILORAYS  # left out of resolved recipes at its default


@pytest.mark.parametrize("recipe", ["shapes", "highway", "urban", "colonoscopy", "surgery_tools"])
def test_shipped_recipes_keep_their_batches(recipe):
    """At their own sizes every shipped recipe traces ``frame_batch`` frames at once, as before the
    bound (so their bytes, which for the lumen march depend on the batch, are unchanged)."""
    spec = synthdata.load_recipe(recipe, ["device=cpu"])
    s = RaycastSettings(**spec.backend.settings)
    assert s.frames_per_batch(spec.clip.width, spec.clip.height) == s.frame_batch == 8


def _render(spec):
    lay = layout_clip(spec, 0, StageTimer())
    return make_backend(spec.backend, "cpu").render(lay.scene, lay.traj)


@pytest.mark.parametrize("extra", [[], ["backend.rolling_shutter=0.5"]])
def test_batches_bounded_by_rays_render_the_same_bytes(extra):
    """A frame per batch (2 kilorays at 32², adaptive) against the default 8-frame batch."""
    spec = tiny_spec("highway", "clip.frames=5", *extra)
    one = synthdata.load_recipe("highway", [*TINY, "clip.frames=5", "backend.batch_kilorays=2", *extra])
    assert one.backend.settings["batch_kilorays"] == 2
    assert RaycastSettings(**one.backend.settings).frames_per_batch(32, 32) == 1
    a, b = _render(spec), _render(one)
    for k in MAPS:
        x, y = getattr(a, k), getattr(b, k)
        assert torch.equal(x.nan_to_num(0), y.nan_to_num(0)) if x.is_floating_point() else torch.equal(x, y), k


def test_default_keeps_recipe_hashes_and_a_setting_shows():
    spec = tiny_spec("shapes")
    assert "batch_kilorays" not in spec.backend.settings
    given = tiny_spec("shapes", f"backend.batch_kilorays={BATCH_KILORAYS}")
    assert "batch_kilorays" not in given.backend.settings and given.content_hash() == spec.content_hash()
    other = tiny_spec("shapes", "backend.batch_kilorays=64")
    assert other.backend.settings["batch_kilorays"] == 64 and other.content_hash() != spec.content_hash()
    assert other.layout_hash() == spec.layout_hash()  # the same scenes


def test_memory_estimate_counts_the_bounded_batch():
    big = ["clip.width=1280", "clip.height=720", "clip.frames=24", "device=cpu"]
    spec = synthdata.load_recipe("highway", big)
    old = synthdata.load_recipe("highway", [*big, "backend.batch_kilorays=1000000"])  # 8 frames a batch, as before
    rays = 1280 * 720 * 2
    saved = (8 - 1) * rays * (PER_RAY + PER_RAY_PER_OBJECT * max_objects(spec))
    whole = 2**40  # window_pixels no clip reaches: whole clips (windows have their own test, tests/run/test_windows.py)
    assert clip_bytes(old, whole) - clip_bytes(spec, whole) == saved


@pytest.mark.slow
def test_a_large_frames_peak_rss_falls_and_stays_under_the_estimate():
    """highway 640×360×8: 2 frames per trace batch instead of 8 (measured: 1079 → 738 MB)."""
    size = ["clip.width=640", "clip.height=360", "clip.frames=8", "device=cpu"]
    peaks = {}
    for kr in (BATCH_KILORAYS, 1_000_000):
        r = subprocess.run([sys.executable, "-c", CLIP, "highway", *size, f"backend.batch_kilorays={kr}"],
                           capture_output=True, text=True, cwd=ROOT, timeout=300,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert r.returncode == 0, r.stderr
        peaks[kr] = json.loads(r.stdout.strip().splitlines()[-1])["peak"]
    spec = synthdata.load_recipe("highway", size)
    print({k: v >> 20 for k, v in peaks.items()})
    assert peaks[1_000_000] - peaks[BATCH_KILORAYS] > 200 * 2**20, peaks
    assert peaks[BATCH_KILORAYS] < worker_bytes(spec)

"""Shared tiny fixtures: 32×32, 4-frame clips keep the suite fast (diffusers' get_dummy_components idea)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import synthdata
from synthdata.annotate import Annotations, annotate
from synthdata.motion import Trajectories, rollout
from synthdata.recipe.schema import RecipeSpec
from synthdata.render import Frames, make_backend
from synthdata.scene import Scene, sample_scene

# FiftyOne: a throw-away database for the test session, no usage tracking, no MongoDB-age warning
os.environ.setdefault("FIFTYONE_DATABASE_DIR", tempfile.mkdtemp(prefix="synthdata-fo-db-"))
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
os.environ.setdefault("FIFTYONE_SHOW_PROGRESS_BARS", "false")

TINY = ["clip.frames=4", "clip.width=32", "clip.height=32", "device=cpu"]
#: in-process execution, two clips per shard: most tests need no cluster
SYNC2 = {"name": "sync", "shard_size": 2}
REPO = Path(__file__).resolve().parents[1]


@dataclass
class TinyClip:
    spec: RecipeSpec
    scene: Scene
    traj: Trajectories
    frames: Frames
    labels: Annotations


#: the colonoscopy recipe as it was before the endoscopy world (straight tube, pinhole, ellipsoid polyps):
#: the base that label and rendering tests override (the shipped one has its own tests)
TUBE_POLYPS = str(REPO / "tests" / "data" / "tube_polyps.yaml")
#: the colonoscopy world through a plain pinhole camera: for label tests that project with K alone
#: (the scope's fisheye, field stop and blur have tests of their own)
PLAIN_SCOPE = ["~camera.mask", "~camera.vignetting", "camera.lens.model=pinhole", "camera.lens.k1=0", "camera.fov_deg=100"]


def tiny_spec(recipe: str = "shapes", *extra: str) -> RecipeSpec:
    """A recipe at test size; ``colonoscopy:plain`` is colonoscopy through :data:`PLAIN_SCOPE`."""
    if recipe.endswith(":plain"):
        recipe, extra = recipe.removesuffix(":plain"), (*PLAIN_SCOPE, *extra)
    return synthdata.load_recipe(recipe, [*TINY, *extra])


def make_tiny_clip(spec: RecipeSpec, seed: int = 0) -> TinyClip:
    rng = np.random.default_rng(seed)
    c = spec.clip
    scene = sample_scene(spec, rng)
    traj = rollout(scene, c.frames, c.fps, rng)
    frames = make_backend(spec.backend, "cpu").render(scene, traj)
    return TinyClip(spec, scene, traj, frames, annotate(frames, scene, traj, spec.annotations))


@pytest.fixture(scope="session")
def shapes_clip() -> TinyClip:
    return make_tiny_clip(tiny_spec("shapes", "clip.width=64", "clip.height=64"), seed=3)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "shapes"
    synthdata.generate("shapes", clips=3, out=out, overrides=TINY, compute=SYNC2, progress=False)
    return out


@pytest.fixture(scope="session")
def tracks_dataset(tmp_path_factory) -> Path:
    """Shapes with point tracks (64 per clip) and keypoints: 2 clips, 48×48, 6 frames."""
    out = tmp_path_factory.mktemp("ds") / "tracks"
    synthdata.generate("shapes", clips=2, out=out, compute=SYNC2, progress=False,
                       overrides=[*TINY, "clip.width=48", "clip.height=48", "clip.frames=6",
                                  "annotations.tracks.enabled=true", "annotations.tracks.points=64",
                                  "annotations.tracks.query_stride=3"])
    return out


#: Fixtures that make datasets, checkpoints, clusters or databases: a test using one is a system test.
SYSTEM_FIXTURES = {"tiny_dataset", "tracks_dataset", "tiny_checkpoint", "tiny_flow_checkpoint", "fo_source", "fo_dataset", "reference",
                   "tmp_path", "tmp_path_factory"}
#: Folders whose every test drives whole runs (generate, train, export, CLI subprocesses).
SYSTEM_PATHS = ("run/", "integrations/", "train/", "cuda/", "test_packaging.py", "test_fuzz.py", "test_cli.py")


def pytest_collection_modifyitems(config, items):
    """Every test is `unit` or `system`: `-m unit` is the fast lane (under a minute here)."""
    for item in items:
        rel = Path(str(item.fspath)).relative_to(REPO / "tests").as_posix()
        system = (rel.startswith(SYSTEM_PATHS) or SYSTEM_FIXTURES & set(getattr(item, "fixturenames", ()))
                  or item.get_closest_marker("slow") or item.get_closest_marker("cuda"))
        item.add_marker(pytest.mark.system if system else pytest.mark.unit)


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test Ctrl-Cs: a shell that started the test run in the background
    ignores SIGINT (POSIX), and the child would inherit that; a terminal user's process does not."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command line in a subprocess (exit codes and stderr as a user sees them)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "synthdata", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def spec_from_yaml(tmp_path: Path, text: str, *overrides: str) -> RecipeSpec:
    """A user recipe written to disk and loaded by path (the real loading path)."""
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return synthdata.load_recipe(str(path), [*TINY, *overrides])


#: A camera looking down +y at a unit scene; objects are added per test.
STAGE = """
name: stage
clip: {frames: 3, fps: 10, width: 64, height: 64}
camera: {fov_deg: 60, position: [0, -10, 1], look_at: [0, 0, 1], motion: {name: static}}
environment: {kind: void, sun: null, headlight: {intensity: 1.0, falloff: 0.0}, ambient: 0.2}
"""


def train_tiny(data: Path, out: Path, **settings) -> Path:
    """A tiny generator trained for a few CPU steps (seconds); settings override TrainConfig fields."""
    from synthdata.train import TrainConfig, train_generator

    base = {"model": "tiny", "steps": 4, "batch": 2, "lr": 3e-3, "warmup": 0, "device": "cpu", "progress": False,
            "log_every": 1, "sample_every": 10_000, "save_every": 10_000}
    train_generator(TrainConfig(data=str(data), out=str(out), **{**base, **settings}))
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    """v-prediction tiny generator trained on the shapes ``tiny_dataset``."""
    return train_tiny(tiny_dataset, tmp_path_factory.mktemp("ckpt") / "v")


@pytest.fixture(scope="session")
def tiny_flow_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    return train_tiny(tiny_dataset, tmp_path_factory.mktemp("ckpt") / "flow", objective="flow")


def assert_visible_tracks_on_their_owner(clip) -> None:
    """Point-track invariants every renderer setting must keep: a visible point's pixel shows its owner in
    the instance map, and at its query frame a point sits on its pixel's centre."""
    tr = clip.labels.labels["tracks"]
    inst = clip.frames.instance.numpy()
    m = tr["visible"]
    assert m.sum() > 500
    t = tr["frame_index"][m]
    px, py = np.floor(tr["x"][m]).astype(int), np.floor(tr["y"][m]).astype(int)
    assert (inst[t, py, px] == tr["track_id"][m] + 1).all()
    q = tr["frame_index"] == tr["query_frame"]
    np.testing.assert_allclose(np.stack([tr["x"][q] % 1, tr["y"][q] % 1], -1), 0.5, atol=0.02)

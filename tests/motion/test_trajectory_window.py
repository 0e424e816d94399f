"""``Trajectories.window``: a window of a clip has the clip's poses, times, velocities and part motion
at its frames (what a long clip made window by window renders and labels with)."""

from __future__ import annotations

import numpy as np
import pytest

from synthdata.annotate.velocity import camera_velocities, object_velocities
from synthdata.motion import rollout
from synthdata.motion.parts import part_poses
from synthdata.scene import sample_scene
from tests.conftest import tiny_spec


def test_a_window_has_the_clips_poses_times_and_part_motion():
    spec = tiny_spec("pedestrians", "clip.frames=9")
    rng = np.random.default_rng(3)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, 9, spec.clip.fps, rng)
    w = traj.window(3, 7)
    assert (w.num_frames, w.first, w.whole) == (4, 3, traj)
    np.testing.assert_array_equal(w.object_poses, traj.object_poses[3:7])
    np.testing.assert_array_equal(w.camera_poses, traj.camera_poses[3:7])
    np.testing.assert_array_equal(w.timestamps, traj.timestamps[3:7])
    np.testing.assert_array_equal(object_velocities(w.object_poses_padded, w.fps),
                                  object_velocities(traj.object_poses_padded, traj.fps).reshape(9, -1, 3)[3:7].reshape(-1, 3))
    np.testing.assert_array_equal(camera_velocities(w.camera_poses_padded, w.fps),
                                  camera_velocities(traj.camera_poses_padded, traj.fps)[3:7])
    whole, part = part_poses(scene, traj), part_poses(scene, w)
    assert whole.animated  # legs swing with the distance walked since the clip's start, not the window's
    np.testing.assert_array_equal(part.motion(4), whole.motion(9)[3:7])
    ww = w.window(1, 3)  # a window of a window is a window of the clip
    assert (ww.first, ww.whole) == (4, traj)
    np.testing.assert_array_equal(ww.timestamps, traj.timestamps[4:6])
    for bad in ((5, 5), (-1, 2), (0, 10)):
        with pytest.raises(ValueError, match="window"):
            traj.window(*bad)

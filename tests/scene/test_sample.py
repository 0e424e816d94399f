import numpy as np

from synthdata.scene import sample_scene

from ..conftest import tiny_spec


def test_same_rng_same_scene_and_different_seeds_differ():
    spec = tiny_spec()
    a, b = sample_scene(spec, np.random.default_rng(4)), sample_scene(spec, np.random.default_rng(4))
    c = sample_scene(spec, np.random.default_rng(5))
    assert a.params == b.params and np.array_equal(a.objects.pose0, b.objects.pose0)
    assert a.params != c.params


def test_counts_classes_and_ground_contact():
    spec = tiny_spec()
    for seed in range(5):
        s = sample_scene(spec, np.random.default_rng(seed))
        n = len(s.objects)
        assert n == s.params["num_objects"] == sum(s.params["counts"].values())
        assert 6 <= n <= 11  # shapes: 2-4 spheres, 2-4 cubes, 2-3 cylinders
        assert set(s.objects.class_id.tolist()) <= {1, 2, 3}
        on_ground = [i for i, p in enumerate(s.objects.primitive) if p != "sphere"]
        # cubes and cylinders rest on the floor: centre height = half height
        np.testing.assert_allclose(s.objects.pose0[on_ground, 2, 3], s.objects.half_size[on_ground, 2])


def test_wall_placement_puts_polyps_on_the_tube_wall():
    """In the straight tube (the bent lumen has its own tests: tests/scene/test_lumen.py)."""
    spec = tiny_spec("colonoscopy")
    groups = [g.model_copy(update={"shape": None, "primitive": "ellipsoid", "size": (0.006, 0.006, 0.006)})
              for g in spec.objects[:1]]
    spec = spec.model_copy(update={"environment": spec.environment.model_copy(update={"lumen": None, "tube_radius": 0.03}),
                                   "objects": groups})
    s = sample_scene(spec, np.random.default_rng(0))
    radial = np.linalg.norm(s.objects.pose0[:, 1:3, 3], axis=1)
    np.testing.assert_allclose(radial, s.environment.tube_radius)
    # the object's z axis points at the tube axis (inwards)
    z_axis = s.objects.pose0[:, :3, 2]
    inward = -s.objects.pose0[:, :3, 3] * [0, 1, 1] / radial[:, None]
    np.testing.assert_allclose(z_axis, inward, atol=1e-9)


def test_camera_looks_at_its_target():
    s = sample_scene(tiny_spec(), np.random.default_rng(0))
    pose = s.camera.pose0
    fwd = pose[:3, 2]
    to_target = s.camera.target - pose[:3, 3]
    np.testing.assert_allclose(fwd, to_target / np.linalg.norm(to_target), atol=1e-9)
    np.testing.assert_allclose(pose[:3, :3].T @ pose[:3, :3], np.eye(3), atol=1e-9)

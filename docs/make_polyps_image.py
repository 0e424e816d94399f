"""docs/images/polyps.png: the five Paris types (Ip, Is, IIa, IIb, IIc), each 10 mm across, on the wall
of a 3 cm colon seen from 30 mm, side by side with a 5 mm scale bar; below each, its mask (visible)
over the amodal box and the labels ``visible_fraction``, ``occluded`` and ``embedded_fraction``.

    python docs/make_polyps_image.py
"""

from __future__ import annotations

from pathlib import Path

if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.annotate.compute import annotate
    from synthdata.motion.rollout import rollout
    from synthdata.recipe.schema import RecipeSpec
    from synthdata.render.backend import make_backend
    from synthdata.run.check import check_recipe
    from synthdata.scene.sample import sample_scene

    size, types = 256, ("Ip", "Is", "IIa", "IIb", "IIc")
    base = synthdata.load_recipe("colonoscopy", [
        f"clip.width={size}", f"clip.height={size}", "clip.frames=1", "environment.tube_radius=0.03",
        "camera.position=[0.025,0.0,0.004]", "camera.look_at=[0.05,0.0,0.03]", "camera.fov_deg=55",
        "camera.motion.name=static", "camera.motion.params={}", "environment.headlight.intensity=3.0",
        "environment.headlight.falloff=0.0", "environment.ground.scale=300"])
    fig, axes = plt.subplots(2, 5, figsize=(15, 6.4))
    for k, paris in enumerate(types):
        d = base.model_dump(mode="json")
        d["objects"] = [{"class_name": "polyp", "shape": {"name": "polyp", "params": {"paris": paris, "size_mm": 10.0}},
                         "material": {"texture": "polyp", "color": [0.86, 0.42, 0.38], "color2": [0.55, 0.16, 0.2],
                                      "scale": 2000, "specular": 0.9, "shininess": 80},
                         "placement": {"mode": "wall", "x": 0.05, "angle_deg": 90.0, "yaw_deg": 90.0}}]
        d["annotations"]["embedded_fraction"] = True
        spec = check_recipe(RecipeSpec.model_validate(d))
        rng = np.random.default_rng(4)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, 1, spec.clip.fps, rng)
        frames = make_backend(spec.backend, "cpu").render(scene, traj)
        ann = annotate(frames, scene, traj, spec.annotations)
        rgb = np.asarray(frames.rgb[0])
        # 5 mm at the polyp's distance, in pixels
        cam, P = traj.camera_poses[0], traj.object_poses[0, 0]
        dist = np.linalg.inv(cam)[:3] @ np.append(P[:3, 3], 1.0)
        px_per_m = scene.camera.K[0, 0] / dist[2]
        ax = axes[0, k]
        ax.imshow(rgb)
        x0, y0 = 12, size - 16
        ax.plot([x0, x0 + 5e-3 * px_per_m], [y0, y0], color="white", lw=3)
        ax.text(x0, y0 - 8, "5 mm", color="white", fontsize=9)
        ax.set_title(f"{paris}  ({ann.labels['embedded_fraction'][0]:.2f} embedded)", fontsize=11)
        ax.axis("off")
        ax = axes[1, k]
        mask = np.asarray(frames.instance[0]) == 1
        ax.imshow(rgb // 3)
        ax.imshow(np.where(mask[..., None], [255, 220, 0, 140], 0).astype(np.uint8))
        b = ann.bbox_amodal[0]
        ax.add_patch(plt.Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, ec="white", lw=1))
        ax.set_title(f"visible {ann.visible_fraction[0]:.2f}, occluded {bool(ann.occluded[0])}", fontsize=10)
        ax.axis("off")
    fig.suptitle("Paris types at 10 mm on a 3 cm colon wall (top); visible mask and amodal box (bottom)")
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "polyps.png"
    fig.savefig(out, dpi=80)
    print(out)

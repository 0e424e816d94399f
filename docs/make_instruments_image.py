"""docs/images/instruments.png: biopsy forceps (lower-right channel) and a snare (lower-left channel of a
two-channel scope) coming out of the working channels in a 3 cm-radius tube seen through a 120° fisheye,
at four frames: the instruments slide out (0 → 20 / 30 mm) and ride the scope as it advances, rolls and
wobbles; the forceps' jaws open and close. Keypoints drawn (white visible, grey hidden) with their
skeleton edges; the instruments' masks outlined.

    python docs/make_instruments_image.py
"""

from __future__ import annotations

from pathlib import Path

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from synthdata.annotate import annotate
    from synthdata.motion import rollout
    from synthdata.recipe.loading import parse_spec
    from synthdata.render import make_backend
    from synthdata.run.check import check_recipe
    from synthdata.scene import sample_scene
    from synthdata.worlds.endoscopy.instruments import CHANNEL, instrument_group

    snare = instrument_group("snare", channel={**CHANNEL, "x": -0.003, "yaw_deg": -2.0}, extend=1.2, delay=0.2)
    data = {
        "name": "instruments_picture", "domain": "medical", "device": "cpu",
        "clip": {"frames": 16, "fps": 8.0, "width": 256, "height": 256},
        "camera": {"fov_deg": 120.0, "position": [0.0, 0.0, 0.0], "look_at": [0.1, 0.0, 0.0], "lens": {"model": "fisheye"},
                   "motion": {"name": "endoscope", "params": {"advance": 0.01, "roll_deg_per_second": 15.0, "wobble_deg": 3.0}}},
        "environment": {"kind": "tube", "tube_radius": 0.03, "sun": None, "ambient": 0.04,
                        "ground": {"texture": "tissue", "color": [0.86, 0.5, 0.45], "color2": [0.45, 0.08, 0.1],
                                   "scale": 60.0, "specular": 0.5, "shininess": 40},
                        "headlight": {"intensity": 2.5, "falloff": 3000.0}},
        "objects": [instrument_group("forceps", extend=1.0), snare],
    }
    spec = check_recipe(parse_spec(data))
    rng = np.random.default_rng(4)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    frames = make_backend(spec.backend, "cpu").render(scene, traj)
    labels = annotate(frames, scene, traj, spec.annotations)
    rgb, inst = frames.rgb.numpy(), frames.instance.numpy()
    kp = labels.labels["keypoints"].reshape(traj.num_frames, len(scene.objects), -1, 3)
    names = scene.class_names
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.6))

    def draw(ax, t, dx=0.0, dy=0.0, s=1.0):
        for i, c in enumerate(scene.objects.class_id):
            name = names[c - 1]
            sk = scene.skeletons[name]
            pts = kp[t, i, :len(sk.names)].copy()
            pts[:, :2] = (pts[:, :2] - [dx, dy]) * s
            for a, b in sk.edges:
                if pts[a, 2] > 0 and pts[b, 2] > 0:
                    ax.plot(*pts[[a, b], :2].T, color="white", lw=0.8)
            seen = pts[:, 2] > 0
            ax.scatter(*pts[seen, :2].T, s=14, c=np.where(pts[seen, 2] == 2, "white", "grey"), edgecolors="black",
                       linewidths=0.4, zorder=3)

    for ax, t in zip(axes[0], (0, 5, 10, 15)):
        ax.imshow(rgb[t])
        for i, c in enumerate(scene.objects.class_id):
            ax.contour(inst[t] == i + 1, levels=[0.5], colors=["cyan" if names[c - 1] == "forceps" else "yellow"],
                       linewidths=0.6)
        draw(ax, t)
        tips = []
        for i, c in enumerate(scene.objects.class_id):
            rel = np.linalg.inv(traj.camera_poses[t]) @ traj.object_poses[t, i]
            tips.append(1000 * float((rel[:3, :3] @ [scene.objects.half_size[i, 0], 0, 0] + rel[:3, 3])[2]))
        ax.set_title(f"frame {t}: tips {tips[0]:.0f} mm (forceps) / {tips[1]:.0f} mm (snare) ahead", fontsize=9)
        ax.axis("off")
    s, r = 4, 20  # forceps head, zoomed
    hinge = names and scene.skeletons["forceps"].names.index("hinge")
    for ax, t in zip(axes[1], (4, 6, 9, 12)):
        cx, cy = kp[t, 0, hinge, :2]
        x0, y0 = int(max(cx - r, 0)), int(max(cy - r, 0))
        crop = rgb[t, y0:y0 + 2 * r, x0:x0 + 2 * r]
        ax.imshow(np.kron(crop, np.ones((s, s, 1), dtype=crop.dtype)))
        draw(ax, t, x0, y0, s)
        ax.set_xlim(0, crop.shape[1] * s), ax.set_ylim(crop.shape[0] * s, 0)
        ax.set_title(f"forceps head, frame {t} (jaws on the clock: 1.6 s cycle)", fontsize=9)
        ax.axis("off")
    fig.suptitle("instruments from the working channels (forceps: cyan mask, snare: yellow), 3 cm tube, 120° fisheye; "
                 "keypoints: tip, hinge, jaw tips / loop corners", fontsize=10)
    fig.tight_layout()
    Path("docs/images").mkdir(parents=True, exist_ok=True)
    fig.savefig("docs/images/instruments.png", dpi=80)
    print("wrote docs/images/instruments.png")

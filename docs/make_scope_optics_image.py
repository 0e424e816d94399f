"""docs/images/scope_optics.png: a 160° fisheye scope in a 3 cm tube (metres; polyps 5–9 mm), one clip
and one world through the scope optics of docs/endoscopy.md: the field stop with a point headlight at the
lens; + cos⁴ vignetting; + two light guides 3.5 mm either side of the lens instead of the point (their
highlights sit off the centre); and the wall approached to 2 mm with tissue scatter and sensor-metered
auto-exposure (red-out). Panels 1–3 use the default auto-exposure (each frame metered over the circle).
Ray-cast at 256², CPU.

    python docs/make_scope_optics_image.py
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

SCOPE = """
name: scope_picture
domain: medical
clip: {frames: 8, fps: 12, width: 256, height: 256}
camera:
  fov_deg: 160
  position: [0.0, 0.018, 0.0]
  look_at: [0.02, 0.03, 0.002]
  motion: {name: static}
  lens: {model: fisheye, k1: 0.02}
  mask: {radius: 1.0, feather: 1.5}
  exposure: {auto: true, key: 0.18, adapt: 1.0}
environment:
  kind: tube
  tube_radius: 0.03
  ground: {texture: tissue, color: [0.86, 0.5, 0.45], color2: [0.45, 0.08, 0.1], scale: 150, specular: 0.6, shininess: 60}
  sun: null
  headlight: {intensity: 0.8, falloff: 3000, color: [1.0, 0.97, 0.92]}
  ambient: 0.01
objects:
  - class_name: polyp
    count: 2
    primitive: ellipsoid
    size: [0.009, 0.008, 0.007]
    material: {texture: tissue, color: [0.93, 0.6, 0.5], color2: [0.6, 0.15, 0.15], scale: 300, specular: 0.9, shininess: 80}
    placement: {mode: wall, x: {choice: [0.016, 0.03]}, angle_deg: {choice: [-30, 25]}}
"""
GUIDES = ("environment.headlight.guides=[{offset:[0.0035,0,0],intensity:0.5,exponent:1.5},"
          "{offset:[-0.0035,0,0],intensity:0.5,exponent:1.5}]")
VIGNETTE = ["camera.vignetting.model=cos4", "camera.vignetting.strength=0.5"]
PANELS = {
    "field stop (160° fisheye), headlight at the lens": [],
    "+ cos⁴ vignetting (strength 0.5)": VIGNETTE,
    "+ two light guides ±3.5 mm (no centre light)": [*VIGNETTE, GUIDES],
    "wall at 2 mm: scatter + sensor AE → red-out": [*VIGNETTE, GUIDES, "environment.headlight.scatter.distance=0.005",
                                                    "camera.exposure.meter=sensor", "camera.exposure.key=0.25",
                                                    "camera.exposure.adapt=0.7"],
}


def approach(traj):
    """The camera turned to face the wall (−z) and brought from 12 mm to 2 mm over the clip."""
    import numpy as np

    from synthdata.geometry import look_at

    T = traj.num_frames
    d = np.concatenate([[0.012], np.linspace(0.012, 0.002, T), [0.002]])
    poses = np.stack([look_at(np.array([0.0, 0.0, -0.03 + di]), np.array([0.0, 0.0, -1.0]), up=np.array([1.0, 0.0, 0.0]))
                      for di in d])
    return dataclasses.replace(traj, camera_poses_padded=poses)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.motion import rollout
    from synthdata.render import make_backend
    from synthdata.scene import sample_scene

    path = Path(tempfile.mkdtemp()) / "scope_picture.yaml"
    path.write_text(SCOPE)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.3), facecolor="white")
    for i, (ax, (title, ov)) in enumerate(zip(axes, PANELS.items())):
        spec = synthdata.load_recipe(str(path), [*ov, "device=cpu", *(["clip.frames=1"] if i < 3 else [])])
        rng = np.random.default_rng(1)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        if i == 3:
            traj = approach(traj)
        frames = make_backend(spec.backend, "cpu").render(scene, traj)
        ax.imshow(frames.rgb[-1].numpy())
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "scope_optics.png"
    fig.savefig(out, dpi=80)
    print(out)

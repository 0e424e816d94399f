"""docs/images/conditions.png: one highway clip's frame under four conditions — day, dusk
(``sky_model: auto``, sun at 2°), ``night_rain`` (night sky, head/tail lights and street lamps as
lights, rain streaks, wet road, auto-exposure) and ``snow`` — rendered by the ray-caster.

    python docs/make_conditions_image.py
"""

from __future__ import annotations

from pathlib import Path

RUNS = {
    "day (highway)": ("highway", []),
    "dusk (sky_model: auto, sun 2°)": ("highway", ["environment.sky_model=auto", "environment.sun.elevation_deg=2",
                                                   "environment.sun.azimuth_deg=0"]),
    "night_rain": ("night_rain", []),
    "snow": ("snow", []),
}

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.motion import rollout
    from synthdata.render import make_backend
    from synthdata.scene import sample_scene

    fig, axes = plt.subplots(1, 4, figsize=(20, 3.4))
    for ax, (title, (name, ov)) in zip(axes, RUNS.items()):
        spec = synthdata.load_recipe(name, [*ov, "clip.width=320", "clip.height=192", "clip.frames=6", "device=cpu"])
        rng = np.random.default_rng(4)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        frames = make_backend(spec.backend, "cpu").render(scene, traj)
        ax.imshow(frames.rgb[-1].numpy())
        ax.set_title(title), ax.axis("off")
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "conditions.png"
    fig.savefig(out, dpi=80)
    print(out)

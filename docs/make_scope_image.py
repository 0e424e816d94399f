"""docs/images/scope_surface.png: the wall of a 3 cm colon-sized tube (metres, mm-scale detail) seen by a
scope's headlight: a smooth wet wall (one specular lobe), the same wall bump-mapped (``material.bump``:
the lobe breaks into the small bright spots of wet mucosa), plus thin-lens defocus (``backend.defocus``:
the wall 5–10 mm away blurs, the lumen stays sharp) and plus motion blur along the flow under fast scope
shake (``backend.motion_blur: flow``). Labels are the same in all four.

    python docs/make_scope_image.py
"""

from __future__ import annotations

from pathlib import Path

SIZE = 224
BASE = [f"clip.width={SIZE}", f"clip.height={SIZE}", "clip.frames=1", "device=cpu", "seed=1",
        "environment.tube_radius=0.03", "camera.fov_deg=110", "camera.position=[0,0.012,0]",
        "camera.look_at=[0.02,0.03,0]", "camera.motion.name=handheld",
        "+camera.motion.params={amplitude_deg: 4.0, position_amplitude: 0.001, frequency: 3.0}",
        "objects.0.count=0", "environment.ground.scale=150", "environment.ground.specular=0.1",
        "environment.headlight.intensity=2.5", "environment.headlight.falloff=1500",
        "+environment.ground.wet={specular: 1.5, shininess: 400}"]
BUMP = "+environment.ground.bump={amplitude: 1.5e-4, scale: 700}"  # ~1.4 mm bumps, 0.15 mm high
DEFOCUS = "+backend.defocus={focus_m: 0.04, aperture_mm: 0.6}"
PANELS = {
    "smooth wet wall: one lobe": [],
    "bumps (1.4 mm): wet specular spots": [BUMP],
    "+ defocus (focus 4 cm, pupil 0.6 mm)": [BUMP, DEFOCUS],
    "+ motion blur from flow (fast shake)": [BUMP, DEFOCUS, "backend.motion_blur=flow", "backend.shutter=0.8"],
}

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import synthdata
    from synthdata.render import make_backend
    from synthdata.run import make_clip

    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 4.3))
    for ax, (title, ov) in zip(axes, PANELS.items()):
        spec = synthdata.load_recipe("colonoscopy", [*BASE, *ov])
        rec = make_clip(spec, 0, make_backend(spec.backend, "cpu"))
        ax.imshow(rec.rgb[0])
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "scope_surface.png"
    fig.savefig(out, dpi=80)
    print(out)

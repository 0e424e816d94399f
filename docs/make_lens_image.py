"""docs/images/lens_highway.png: one highway scene through a pinhole, a barrel (Brown–Conrady) and a
fisheye lens, with the ``lane_lines`` label drawn on top (a lens changes no scene: the same world, and
the polylines curve with the paint).

    python docs/make_lens_image.py
"""

from __future__ import annotations

from pathlib import Path

BASE = ["clip.width=320", "clip.height=192", "clip.frames=2", "device=cpu", "seed=2", "annotations.lane_lines=true",
        "camera.fov_deg=110", "camera.look_at=[12.0,-1.75,-2.0]"]  # pitched down: the horizon is off-centre, so it bends
LENSES = {  # one fov for all three: the fov is part of the layout hash (another fov, another scene)
    "pinhole, fov 110°": [],
    "barrel (Brown–Conrady k1 = −0.35, k2 = 0.1), fov 110°": [
        "camera.lens.model=brown_conrady", "camera.lens.k1=-0.35", "camera.lens.k2=0.1"],
    "fisheye (equidistant), fov 110°": ["camera.lens.model=fisheye"],
}

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.render import make_backend
    from synthdata.run import make_clip

    colours = {"lane_line": "white", "centre_line": "yellow", "road_edge": "orange"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.3))
    for ax, (title, ov) in zip(axes, LENSES.items()):
        spec = synthdata.load_recipe("highway", [*BASE, *ov])
        rec = make_clip(spec, 0, make_backend(spec.backend, "cpu"))
        ax.imshow(rec.rgb[0])
        for line in rec.annotations.labels["lane_lines"][0]:
            p = np.array(line["points"]).reshape(-1, 2)
            if len(p):
                ax.plot(p[:, 0], p[:, 1], "-", lw=1.2, color=colours.get(line["kind"], "cyan"), alpha=0.9)
        ax.set_title(title, fontsize=9)
        ax.set_xlim(0, 320)
        ax.set_ylim(192, 0)
        ax.axis("off")
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "lens_highway.png"
    fig.savefig(out, dpi=90)
    print(out)

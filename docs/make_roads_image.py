"""docs/images/roads.png: two `highway` and two `urban` clips (last frame), each beside its `road`
label map, coloured per road class.

    python docs/make_roads_image.py
"""

from __future__ import annotations

from pathlib import Path

RUNS = [("highway", 3), ("highway", 8), ("urban", 1), ("urban", 2)]
#: road class → colour: none, drivable, lane line, edge, centre, off-road, sidewalk, zebra, stop line, kerb
PALETTE = [[0, 0, 0], [90, 90, 90], [255, 255, 255], [255, 0, 255], [255, 220, 0], [0, 140, 0], [0, 160, 255],
           [255, 128, 0], [255, 0, 0], [150, 90, 40]]

if __name__ == "__main__":
    import numpy as np
    from PIL import Image

    import synthdata
    from synthdata.annotate import annotate
    from synthdata.motion import rollout
    from synthdata.render import make_backend
    from synthdata.scene import sample_scene

    rows = []
    for name, seed in RUNS:
        spec = synthdata.load_recipe(name, ["clip.frames=6", "clip.width=320", "clip.height=192", "device=cpu",
                                            "annotations.road=true"])
        rng = np.random.default_rng(seed)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        frames = make_backend(spec.backend, "cpu").render(scene, traj)
        road = annotate(frames, scene, traj, spec.annotations).labels["road"][-1]
        rows.append(np.concatenate([frames.rgb[-1].numpy(), np.array(PALETTE, np.uint8)[road]], 1))
    out = Path(__file__).parent / "images" / "roads.png"
    Image.fromarray(np.concatenate(rows, 0)).save(out)
    print(out)

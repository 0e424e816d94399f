"""docs/images/augment.png: one clip (frame 0) under each op, with its instance map and visible boxes
drawn from the *augmented* labels — the picture of "every label follows the pixels".

    python docs/make_augment_image.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.augment import load_pipeline
    from synthdata.integrations.torch_dataset import ClipDataset

    out = Path(tempfile.mkdtemp()) / "highway"
    synthdata.generate("highway", clips=1, out=out, compute="sync", progress=False,
                       overrides=["clip.frames=2", "clip.width=192", "clip.height=128", "device=cpu", "seed=3"])
    ds = ClipDataset(synthdata.open_dataset(out), maps=("semantic", "instance", "depth", "flow_fwd"))
    item = ds[0]
    ops = [("original", None), ("hflip", {}), ("crop", {"scale": [0.4, 0.5]}), ("affine", {"degrees": 20}),
           ("perspective", {"distortion": 0.25}), ("paramcrop", {}), ("color_jitter", {"brightness": 0.5}),
           ("jpeg", {"quality": [10, 10]}), ("fog", {"density": [0.04, 0.04]}), ("night", {}), ("rain", {})]
    fig, axes = plt.subplots(2, len(ops), figsize=(2.2 * len(ops), 3.4))
    for col, (name, params) in enumerate(ops):
        video, lab = item if params is None else load_pipeline({"ops": [{"name": name, "p": 1.0, **params}]})(item, seed=2)
        axes[0, col].imshow(video[0].permute(1, 2, 0).numpy())
        for b, k in zip(lab["boxes"], lab["frame_index"]):
            if int(k) == 0:
                x0, y0, x1, y1 = b.tolist()
                axes[0, col].add_patch(patches.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="yellow", lw=0.8))
        axes[1, col].imshow(lab["instance"][0].numpy() % 17, cmap="tab20", interpolation="nearest")
        axes[0, col].set_title(name, fontsize=8)
        for ax in axes[:, col]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("images") / "augment.png", dpi=90)
    print("wrote docs/images/augment.png")

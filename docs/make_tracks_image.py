"""docs/images/tracks.png: point tracks and keypoints on the last frame of one clip per shipped recipe.
Each track is drawn as a trail over the clip, green where the point was visible, red where hidden
(outside the image: not drawn); box corners / poles are the keypoints (white visible, grey hidden)
joined by the class skeleton.

    python docs/make_tracks_image.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

RUNS = {"shapes": ["clip.width=256", "clip.height=256"], "highway": ["clip.width=320", "clip.height=192"],
        "colonoscopy": ["clip.width=256", "clip.height=256"]}

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.collections import LineCollection

    import synthdata

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    for ax, (name, ov) in zip(axes, RUNS.items()):
        out = Path(tempfile.mkdtemp()) / name
        synthdata.generate(name, clips=1, out=out, compute="sync", progress=False,
                           overrides=[*ov, "clip.frames=16", "device=cpu", "seed=1", "annotations.tracks.enabled=true",
                                      "annotations.tracks.points=160", "annotations.tracks.query_stride=16"])
        ds = synthdata.open_dataset(out)
        clip = ds.clip(0)
        video = clip.video()
        T = video.shape[0]
        t = clip.tracks().to_pandas()
        P = t.point_id.nunique()
        xy = np.stack([t.x.to_numpy(), t.y.to_numpy()], -1).reshape(P, T, 2)
        vis, inv = t.visible.to_numpy().reshape(P, T), t.in_view.to_numpy().reshape(P, T)
        ax.imshow(video[-1])
        segs = np.stack([xy[:, :-1], xy[:, 1:]], 2).reshape(-1, 2, 2)
        ok = (inv[:, :-1] & inv[:, 1:]).reshape(-1)
        colour = np.where(vis[:, 1:].reshape(-1, 1), [[0.2, 0.9, 0.3, 0.9]], [[0.95, 0.2, 0.2, 0.9]])
        ax.add_collection(LineCollection(segs[ok], colors=colour[ok], linewidths=1.1))
        last = inv[:, -1]
        ax.scatter(xy[last, -1, 0], xy[last, -1, 1], s=6, c=np.where(vis[last, -1], "lime", "red"))
        objs = clip.objects().to_pandas()
        for _, o in objs[(objs.frame_index == T - 1) & objs.in_view].iterrows():
            kp = o.keypoints
            if kp is None or not len(kp):
                continue
            pts = np.array([[p["x"], p["y"]] for p in kp])
            v = np.array([p["v"] for p in kp])
            for i, j in ds.skeletons[o.class_name]["skeleton"]:
                if v[i] and v[j]:
                    ax.plot(*pts[[i, j]].T, color="white", lw=0.6, alpha=0.7)
            ax.scatter(*pts[v > 0].T, s=14, c=np.where(v[v > 0] == 2, "white", "grey"), edgecolors="black", linewidths=0.4)
        ax.set_title(f"{name}: {P} tracks, {int(vis.mean() * 100)}% of point-frames visible")
        ax.set_xlim(0, video.shape[2]), ax.set_ylim(video.shape[1], 0), ax.axis("off")
    fig.tight_layout()
    dest = Path(__file__).parent / "images" / "tracks.png"
    fig.savefig(dest, dpi=90)
    print(dest)

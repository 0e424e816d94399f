"""docs/images/pedestrians.png: one clip of the ``pedestrians`` recipe (320×192) with every person's and
cyclist's COCO-17 skeleton drawn (white visible, grey hidden), and the nearest pedestrian cropped at
four frames so the gait shows (legs and arms swing with the distance walked; the joints ride the limbs).

    python docs/make_pedestrians_image.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    out = Path(tempfile.mkdtemp()) / "pedestrians"
    synthdata.generate("pedestrians", clips=1, out=out, compute="sync", progress=False,
                       overrides=["clip.frames=16", "device=cpu", "seed=3", "camera.position=[0.0, -7.1, 1.6]",
                                  "camera.look_at=[14.0, -9.5, 0.9]", "camera.fov_deg=55", "objects.0.count=7", "objects.0.placement.x={uniform: [3, 16]}"])
    ds = synthdata.open_dataset(out)
    clip = ds.clip(0)
    video = clip.video()
    T = video.shape[0]
    objs = clip.objects().to_pandas()

    def skeleton(ax, row, dx=0.0, dy=0.0, s=1.0):
        kp = row.keypoints
        if kp is None or not len(kp):
            return
        pts = (np.array([[p["x"], p["y"]] for p in kp]) - [dx, dy]) * s
        v = np.array([p["v"] for p in kp])
        for i, j in ds.skeletons[row.class_name]["skeleton"]:
            if v[i] and v[j]:
                ax.plot(*pts[[i, j]].T, color="white" if v[i] == 2 and v[j] == 2 else "grey", lw=1.0 if s > 1 else 0.7)
        ax.scatter(*pts[v > 0].T, s=12 if s > 1 else 5, c=np.where(v[v > 0] == 2, "white", "grey"),
                   edgecolors="black", linewidths=0.3, zorder=3)

    fig = plt.figure(figsize=(13, 7.2))
    top = fig.add_axes([0.0, 0.42, 0.62, 0.53])
    top.imshow(video[-1])
    last = objs[(objs.frame_index == T - 1) & objs.in_view]
    for _, o in last[last.class_name.isin(["pedestrian", "cyclist"])].iterrows():
        skeleton(top, o)
    top.set_title(f"pedestrians (walk, keep right on the sidewalks), cyclists (kerb lane): frame {T - 1}", fontsize=10)
    top.set_xlim(0, video.shape[2]), top.set_ylim(video.shape[1], 0), top.axis("off")

    shown = np.linspace(0, T - 1, 4).astype(int)
    ped = objs[(objs.class_name == "pedestrian") & objs.frame_index.isin(shown)]
    ped = ped.assign(a=[0 if b is None else (b[2] - b[0]) * (b[3] - b[1]) for b in ped.bbox_visible] * (ped.visible_fraction > 0.9)
                     * ~ped.truncated)
    tid = int(ped.groupby("track_id").a.min().idxmax())  # in full view in every shown frame, largest
    for k, t in enumerate(shown):
        row = objs[(objs.frame_index == t) & (objs.track_id == tid)].iloc[0]
        x0, y0, x1, y1 = row.bbox_visible
        cx, cy, h = (x0 + x1) / 2, (y0 + y1) / 2, max(y1 - y0, 8) * 0.65
        ax = fig.add_axes([0.02 + k * 0.245, 0.01, 0.22, 0.39])
        xs, ys = int(max(cx - h, 0)), int(max(cy - h, 0))
        crop = video[t, ys:int(cy + h), xs:int(cx + h)]
        s = 6.0
        ax.imshow(np.kron(crop, np.ones((int(s), int(s), 1), dtype=crop.dtype)))
        skeleton(ax, row, xs, ys, s)
        ax.set_title(f"track {tid}, frame {t}", fontsize=9), ax.axis("off")
    right = fig.add_axes([0.64, 0.42, 0.35, 0.56])
    right.axis("off")
    right.text(0, 0.95, "COCO-17 keypoints on the limbs:\n"
               "each joint is given at the rest pose\non the part it rides (keypoints.parts)\n"
               "and follows that part's swing:\nangle = A·sin(2π(d / stride + phase)),\n"
               "d = distance walked; arms opposite\nto legs; a standing person is still.",
               va="top", fontsize=10, family="monospace")
    Path("docs/images").mkdir(parents=True, exist_ok=True)
    fig.savefig("docs/images/pedestrians.png", dpi=90)
    print("wrote docs/images/pedestrians.png")

"""docs/images/mucosa.png: the ``mucosa`` texture at metric scale against the old ``tissue``.

Top: an unrolled wall strip, 40 × 20 mm at 0.05 mm per pixel: ``mucosa`` (defaults), ``mucosa`` with
drawn variation (prep 0.6, contrast 0.7, density 1.5) and ``tissue`` at the size it had on the old
1 m tube, scaled to a 3 cm lumen. Bottom: albedo seen down a straight 3 cm lumen (120° field of
view, 128² pixels; where rings appeared): ``tissue`` and ``mucosa`` one point sample per pixel, ``mucosa``
filtered over the pixel footprint (what the renderer does by default), and a 8×8 supersampled
reference. Titles give the mean error against the reference within 20 px of the far end.

    python docs/make_mucosa_image.py
"""

from __future__ import annotations

import math
from pathlib import Path

PINK, RED = (0.86, 0.5, 0.42), (0.55, 0.1, 0.16)
R = 0.03

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from synthdata.render.raycast import TEXTURES

    def tex(name, p, foot=None, scale=1.0, **params):
        M = p.shape[0]
        kw = {k: torch.full((M,), float(v)) for k, v in params.items()}
        if foot is not None:
            kw["footprint"] = foot
        return TEXTURES.get(name)(p, torch.tensor(PINK).expand(M, 3), torch.tensor(RED).expand(M, 3),
                                  torch.full((M,), scale), torch.full((M,), 5, dtype=torch.int64), **kw)

    step, W, H = 5e-5, 800, 400
    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    flat = torch.stack([xs.flatten() * step, ys.flatten() * step, torch.zeros(W * H)], -1)
    ffoot = torch.zeros(W * H, 2, 3)
    ffoot[:, 0, 0] = ffoot[:, 1, 1] = step
    strips = {
        "mucosa (defaults)": tex("mucosa", flat, ffoot),
        "mucosa: prep 0.6, contrast 0.7, density 1.5": tex("mucosa", flat, ffoot, prep=0.6, contrast=0.7, density=1.5),
        "old tissue (its size on the 1 m tube, scaled to 3 cm)": tex("tissue", flat, scale=2.25 * 1.05 / R),
    }

    n, f = 128, 64 / math.tan(math.radians(60))

    def hits(u, v):
        dy, dz = (u - n / 2) / f, (v - n / 2) / f
        t = R / torch.sqrt(dy**2 + dz**2)
        return torch.stack([t, t * dy, t * dz], -1)

    vv, uu = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
    u, v = uu.flatten(), vv.flatten()
    p = hits(u, v)
    foot = torch.stack([hits(u + 0.5, v) - hits(u - 0.5, v), hits(u, v + 0.5) - hits(u, v - 0.5)], 1)
    k = 8
    off = (torch.arange(k) + 0.5) / k - 0.5
    ou, ov = torch.meshgrid(off, off, indexing="ij")
    ref = torch.zeros(n * n, 3)
    for j in range(k * k):  # 8×8 point samples (a tiny footprint only tells the tangent plane)
        ref += tex("mucosa", hits(u + ou.flatten()[j], v + ov.flatten()[j]), foot * 1e-3 / k)
    ref /= k * k
    lumen = {
        "tissue, 1 sample/px": tex("tissue", p, scale=2.25 * 1.05 / R),
        "mucosa, 1 sample/px": tex("mucosa", p, foot * 1e-3),
        "mucosa, filtered (default)": tex("mucosa", p, foot),
        "mucosa, 8x8 reference": ref,
    }
    far = (torch.sqrt((u - n / 2) ** 2 + (v - n / 2) ** 2) < 20).numpy()

    fig = plt.figure(figsize=(16, 7.6))
    for i, (title, a) in enumerate(strips.items()):
        ax = fig.add_axes((0.03 + i * 0.33, 0.53, 0.3, 0.42))
        ax.imshow(a.reshape(H, W, 3).numpy(), extent=(0, W * step * 1e3, H * step * 1e3, 0))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("mm")
    for i, (title, a) in enumerate(lumen.items()):
        ax = fig.add_axes((0.02 + i * 0.245, 0.01, 0.22, 0.42))
        err = "" if "reference" in title or "tissue" in title else \
            f"\nmean |error| near the far end: {float((a - ref).abs().mean(-1).numpy()[far].mean()):.3f}"
        ax.imshow(a.reshape(n, n, 3).numpy(), interpolation="nearest")
        ax.set_title(title + err, fontsize=10)
        ax.axis("off")
    out = Path(__file__).parent / "images" / "mucosa.png"
    fig.savefig(out, dpi=72)
    print(out)

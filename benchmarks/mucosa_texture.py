"""Cost of the ``mucosa`` texture per million points (and of ``tissue`` for comparison), on a flat
strip at three footprint sizes: near (0.05 mm: every vessel level evaluated), mid (1 mm: capillaries
faded to their mean, not evaluated) and far (10 mm: all levels faded), and point-sampled (no
footprint). Prints one JSON line (--out: also writes it).

    python benchmarks/mucosa_texture.py --points 262144 --rounds 3 --out benchmarks/results/mucosa_texture.json
    python benchmarks/mucosa_texture.py --calibrate   # the vessel levels' mean coverage constants

``--render WxH`` adds the whole render (default adaptive anti-aliasing, no objects) of a few frames of
``colonoscopy`` on a straight 3 cm tube, camera on the axis, with ``tissue`` and with ``mucosa`` (also with
``supersample: 1``): ms per frame, and the share of pixels adaptive anti-aliasing re-traces.

Rounds interleave the cases; the figure is the median round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import torch  # noqa: E402

from synthdata.render.raycast import TEXTURES  # noqa: E402


def _strip(M: int, device: str, foot_mm: float | None):
    g = torch.Generator().manual_seed(0)
    p = (torch.rand(M, 3, generator=g) * torch.tensor([0.2, 0.05, 0.0])).to(device)  # 200 × 50 mm
    foot = None
    if foot_mm is not None:
        foot = torch.zeros(M, 2, 3, device=device)
        foot[:, 0, 0] = foot[:, 1, 1] = foot_mm * 1e-3
    return p, foot


def _time(name: str, p, foot, device: str) -> float:
    M = p.shape[0]
    args = (torch.tensor([0.86, 0.5, 0.42], device=device).expand(M, 3), torch.tensor([0.55, 0.1, 0.16], device=device).expand(M, 3),
            torch.full((M,), 1.0 if name == "mucosa" else 80.0, device=device), torch.full((M,), 3, device=device))
    fn = TEXTURES.get(name)
    kw = {"footprint": foot} if foot is not None and getattr(fn, "takes_footprint", False) else {}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn(p, *args, **kw)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t) * 1e3 * (1 << 20) / M


def calibrate(planes: int = 8, points: int = 60000) -> dict:
    """Mean coverage of each vessel level / (width × keep / cell), over random planes (point samples
    that know their tangent plane): the ``density`` column of :data:`LEVELS`."""
    from synthdata.render.raycast.cellular import vector_noise
    from synthdata.worlds.endoscopy import mucosa as mu

    g = torch.Generator().manual_seed(0)
    out = {}
    for k, lv in enumerate(mu.LEVELS):
        vals = []
        for rep in range(planes):
            n = torch.randn(3, generator=g)
            a = torch.linalg.qr(torch.stack([n / n.norm(), torch.randn(3, generator=g), torch.randn(3, generator=g)], 1))[0]
            uv = torch.rand(points, 2, generator=g) * lv.cell * 60
            q = uv[:, :1] * a[:, 1] + uv[:, 1:] * a[:, 2] + torch.rand(3, generator=g) * 50
            seed = torch.full((points,), 11 + rep, dtype=torch.int64)
            fine, coarse = vector_noise(q / mu._MOTTLE, seed), vector_noise(q / mu._PATCH, seed + 1)
            warped = q + mu._WARP[0] * 2 * (fine - 0.5) + mu._WARP[1] * 2 * (coarse - 0.5)
            cover = mu._level_cover(k, warped, fine, seed, torch.full((points,), lv.cell), torch.zeros(points), None,
                                    a[:, 0].expand(points, 3))
            vals.append(float(cover.mean()) / (lv.width / lv.cell * lv.keep))
        out[f"level{k}"] = {"mean": round(statistics.mean(vals), 3), "stdev": round(statistics.stdev(vals), 3)}
    return out


def _render_cost(size: str, frames: int, device: str, rounds: int) -> dict:
    import numpy as np

    import synthdata
    from synthdata.motion import rollout
    from synthdata.render import make_backend
    from synthdata.scene import sample_scene

    w, h = size.split("x")
    base = [f"clip.width={w}", f"clip.height={h}", f"clip.frames={frames}", f"device={device}", "environment.tube_radius=0.03",
            "camera.position=[0,0.005,0]", "camera.look_at=[1,0,0]", "camera.motion.params.advance=0.02", "objects.0.count=0"]
    out: dict[str, list[float]] = {}
    for _ in range(rounds):
        for case, tex, extra in (("tissue", "tissue", ["environment.ground.scale=80"]),
                                 ("mucosa", "mucosa", ["environment.ground.scale=1"]),
                                 ("mucosa_supersample1", "mucosa", ["environment.ground.scale=1", "backend.supersample=1"])):
            spec = synthdata.load_recipe("colonoscopy", [*base, f"environment.ground.texture={tex}", *extra])
            rng = np.random.default_rng(0)
            scene = sample_scene(spec, rng)
            traj = rollout(scene, frames, spec.clip.fps, rng)
            backend = make_backend(spec.backend, device)
            t = time.perf_counter()
            backend.render(scene, traj)
            out.setdefault(case, []).append((time.perf_counter() - t) * 1e3 / frames)
    res = {k: round(statistics.median(v), 1) for k, v in out.items()}
    from synthdata.render.raycast.antialias import edge_pixels
    from synthdata.render.raycast.backend import RaycastBackend, RaycastSettings, _SceneTensors

    for tex, extra in (("tissue", ["environment.ground.scale=80"]), ("mucosa", [])):  # pixels adaptive AA re-traces
        spec = synthdata.load_recipe("colonoscopy", [*base, f"environment.ground.texture={tex}", *extra])
        rng = np.random.default_rng(0)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, frames, spec.clip.fps, rng)
        st = _SceneTensors.build(scene, traj, torch.device(device))
        o = RaycastBackend(RaycastSettings(supersample=1), device)._trace(scene, st, torch.tensor([1], device=device),
                                                                          int(h), int(w), 1, False)
        key = o["edge_key"]
        smooth = None if st.filtered_owner is None else st.filtered_owner[key.clamp(min=0)] & (key >= 0)
        res[f"{tex}_retraced_share"] = round(float(edge_pixels(o["rgb_linear"], key, smooth=smooth).float().mean()), 3)
        res[f"{tex}_retraced_share_colour_steps_too"] = round(float(edge_pixels(o["rgb_linear"], key).float().mean()), 3)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1 << 18)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--render", default="", help="WxH: also time whole frames of a 3 cm tube, tissue vs mucosa")
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.calibrate:
        print(json.dumps({"benchmark": "mucosa_texture_calibration", "levels": calibrate()}))
        return
    cases = {"mucosa_near_0.05mm": ("mucosa", 0.05), "mucosa_mid_1mm": ("mucosa", 1.0), "mucosa_far_10mm": ("mucosa", 10.0),
             "mucosa_point": ("mucosa", None), "tissue": ("tissue", None)}
    data = {k: _strip(a.points, a.device, f) for k, (_, f) in cases.items()}
    for k, (name, _) in cases.items():  # warm-up
        _time(name, data[k][0][:4096], None if data[k][1] is None else data[k][1][:4096], a.device)
    rounds: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(a.rounds):
        for k, (name, _) in cases.items():
            rounds[k].append(_time(name, *data[k], a.device))
    res = {"benchmark": "mucosa_texture", "unit": "ms per 2^20 points", "points": a.points, "rounds": a.rounds,
           "device": a.device, "ms_per_mpoint": {k: round(statistics.median(v), 1) for k, v in rounds.items()},
           "note": "flat 200x50 mm strip, square footprints of the given side; mucosa at scale 1 (metric), tissue "
                   "at scale 80/m (its colonoscopy look on a 3 cm lumen); median of interleaved rounds; on a shared "
                   "machine absolute figures vary ~2x between runs, the ratios hold",
           "machine": machine(), "date": date.today().isoformat()}
    if a.render:
        res["render"] = {"size": a.render, "frames": a.frames, "ms_per_frame": _render_cost(a.render, a.frames, a.device, a.rounds)}
    line = json.dumps(res)
    print(line)
    if a.out:
        Path(a.out).write_text(line + "\n")


if __name__ == "__main__":
    main()

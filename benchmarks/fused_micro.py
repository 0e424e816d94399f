"""Per-ray cost of one representative piece of the ray-caster's work — nearest hit of 8 spheres, then
Lambert + Blinn-Phong shading — written three ways on one thread: a scalar numba loop per ray, a numba
loop per object over all rays (structure of arrays, branch-free), and torch eager ops (how
synthdata/render/raycast does it). Prints one JSON line (ns per ray, 2^20 rays, best of 3).

    (numba is a dependency since round 12, for the renderer's compiled CPU stages)
    python benchmarks/fused_micro.py
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import math
import time

import numpy as np
import torch
from numba import njit
torch.set_num_threads(1)
N = 1 << 20; K = 8
rng = np.random.default_rng(0)
o = np.zeros((3,), np.float32)
d = rng.normal(size=(3, N)).astype(np.float32); d[2] = np.abs(d[2]) + 1
c = (rng.normal(size=(K, 3)) * 2 + np.array([0, 0, 10])).astype(np.float32)
r = np.full(K, 1.0, np.float32)
L = np.array([0.3, 0.5, -0.8], np.float32); L /= np.linalg.norm(L)

@njit(error_model="numpy")
def scalar(d, c, r, L, out):
    n = d.shape[1]
    for i in range(n):
        dx, dy, dz = d[0, i], d[1, i], d[2, i]
        a = dx*dx+dy*dy+dz*dz
        best = np.float32(np.inf); k = -1
        for j in range(c.shape[0]):
            b = -(c[j,0]*dx + c[j,1]*dy + c[j,2]*dz)
            cc = c[j,0]**2 + c[j,1]**2 + c[j,2]**2 - r[j]*r[j]
            disc = b*b - a*cc
            if disc >= 0:
                t = (-b - math.sqrt(disc)) / a
                if 1e-4 < t < best:
                    best = t; k = j
        if k < 0:
            out[i] = 0.0; continue
        px, py, pz = best*dx - c[k,0], best*dy - c[k,1], best*dz - c[k,2]
        nn = math.sqrt(px*px+py*py+pz*pz)
        ndl = max((px*L[0]+py*L[1]+pz*L[2])/nn, 0.0)
        dn = math.sqrt(a)
        hx, hy, hz = L[0]-dx/dn, L[1]-dy/dn, L[2]-dz/dn
        hn = math.sqrt(hx*hx+hy*hy+hz*hz)
        nh = max((px*hx+py*hy+pz*hz)/(nn*hn), 0.0)
        out[i] = 0.3 + ndl + 0.5 * nh ** 20.0

@njit(error_model="numpy")
def soa(d, c, r, L, out, best, k):
    n = d.shape[1]
    dx, dy, dz = d[0], d[1], d[2]
    for i in range(n):
        best[i] = np.inf; k[i] = -1
    for j in range(c.shape[0]):
        cj0, cj1, cj2 = c[j,0], c[j,1], c[j,2]
        cc = cj0*cj0 + cj1*cj1 + cj2*cj2 - r[j]*r[j]
        for i in range(n):  # branch-free: selects
            a = dx[i]*dx[i]+dy[i]*dy[i]+dz[i]*dz[i]
            b = -(cj0*dx[i] + cj1*dy[i] + cj2*dz[i])
            disc = b*b - a*cc
            t = (-b - math.sqrt(max(disc, 0.0))) / a
            hit = (disc >= 0) & (t > 1e-4) & (t < best[i])
            best[i] = t if hit else best[i]
            k[i] = j if hit else k[i]
    for i in range(n):
        kk = max(k[i], 0)
        a = dx[i]*dx[i]+dy[i]*dy[i]+dz[i]*dz[i]
        bt = best[i] if k[i] >= 0 else 0.0
        px, py, pz = bt*dx[i] - c[kk,0], bt*dy[i] - c[kk,1], bt*dz[i] - c[kk,2]
        nn = math.sqrt(px*px+py*py+pz*pz)
        ndl = max((px*L[0]+py*L[1]+pz*L[2])/nn, 0.0)
        dn = math.sqrt(a)
        hx, hy, hz = L[0]-dx[i]/dn, L[1]-dy[i]/dn, L[2]-dz[i]/dn
        hn = math.sqrt(hx*hx+hy*hy+hz*hz)
        nh = max((px*hx+py*hy+pz*hz)/(nn*hn), 0.0)
        v = 0.3 + ndl + 0.5 * nh ** 20.0
        out[i] = v if k[i] >= 0 else 0.0

def eager(d, c, r, L):
    d = torch.from_numpy(d); c = torch.from_numpy(c); r = torch.from_numpy(r); L = torch.from_numpy(L)
    a = (d*d).sum(0)
    best = torch.full_like(a, float("inf")); k = torch.full(a.shape, -1)
    for j in range(c.shape[0]):
        b = -(c[j][:, None]*d).sum(0)
        cc = (c[j]**2).sum() - r[j]**2
        disc = b*b - a*cc
        t = (-b - torch.sqrt(disc.clamp(min=0))) / a
        hit = (disc >= 0) & (t > 1e-4) & (t < best)
        best = torch.where(hit, t, best); k = torch.where(hit, j, k)
    kk = k.clamp(min=0)
    p = best*d - c[kk].T
    nn = torch.sqrt((p*p).sum(0))
    ndl = ((p*L[:, None]).sum(0)/nn).clamp(min=0)
    dn = torch.sqrt(a)
    h = L[:, None] - d/dn
    nh = ((p*h).sum(0)/(nn*torch.sqrt((h*h).sum(0)))).clamp(min=0)
    return torch.where(k >= 0, 0.3 + ndl + 0.5*nh**20, 0.0)

out = np.zeros(N, np.float32); best = np.zeros(N, np.float32); k = np.zeros(N, np.int64)
scalar(d, c, r, L, out); soa(d, c, r, L, out, best, k); eager(d, c, r, L)
res = {}
for name, fn in (("numba_scalar", lambda: scalar(d, c, r, L, out)), ("numba_soa", lambda: soa(d, c, r, L, out, best, k)),
                 ("torch_eager", lambda: eager(d, c, r, L))):
    ts = []
    for _ in range(3):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    res[name] = round(min(ts) / N * 1e9, 1)
print(json.dumps({"benchmark": "fused_micro", "rays": N, "objects": K, "ns_per_ray": res, "machine": machine()}))

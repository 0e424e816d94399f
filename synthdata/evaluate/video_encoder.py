"""A CVRL-style contrastive video encoder, trained here on the user's own clips.

Why train here: a Fréchet video distance needs a video embedding, and the usual one (I3D on Kinetics)
means downloading weights, which synthdata never does. Instead a small (2+1)D-conv encoder is trained
self-supervised on the clips being compared, following CVRL (Qian et al., "Spatiotemporally Contrastive
Video Representation Learning", CVPR 2021): two views are cut from the same clip at different times
(the gap drawn from a linearly decreasing distribution, so nearby views are more likely), each view gets
strong spatial augmentation sampled ONCE per view and applied identically to all its frames (random
resized crop, flip, colour jitter, grayscale), and an InfoNCE loss with a temperature pulls the two views
of one clip together and pushes the other clips of the batch away. Distances use the pooled backbone
features; the projection head exists only for the loss (as in SimCLR/CVRL).

An encoder is a measuring stick: numbers it produces are comparable only with numbers from the SAME
encoder (same weights). :meth:`VideoEncoder.fingerprint` names it; save it with
:meth:`VideoEncoder.save_pretrained` (``config.json`` + ``model.safetensors``, never a pickle) to score
later runs with the same stick.

Determinism: everything random (initial weights, batches, view times, augmentation parameters) comes
from one seed; on CPU the same seed gives bit-identical weights, on CUDA cuDNN runs in deterministic
mode while training.

Shapes: videos (B,T,3,H,W) float in [0, 1] → features (B,D), D = ``config.embed_dim``.
Clips on input: (T,H,W,3) uint8 arrays (what ``ClipView.video()`` returns) or (T,3,H,W) uint8 tensors.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..io.atomic import atomic_path

__all__ = ["EncoderConfig", "ENCODER_SIZES", "VideoEncoder", "train_video_encoder", "load_clips", "clip_windows",
           "sample_view_starts", "augment_views", "info_nce", "with_config", "CONFIG_NAME", "WEIGHTS_NAME"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
_CLASS = "VideoEncoder"
_FORMAT = 1
#: channel normalisation of the input (ImageNet-like; the net is trained here, so only the scale matters)
_MEAN, _STD = 0.45, 0.225


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture and view geometry of a :class:`VideoEncoder` (saved as ``config.json``).

    ``width`` channels after the stem (which halves H and W), doubled at each later stage of ``stages``
    (each halves H and W again);
    the embedding is the pooled last stage, ``embed_dim = width * 2**(stages-1)``. ``frames`` and
    ``size``: a view is ``frames`` consecutive frames cropped/resized to ``size``×``size``.
    ``temperature``: the InfoNCE temperature (CVRL uses 0.1).
    """

    width: int = 8
    stages: int = 3
    proj_dim: int = 32
    frames: int = 4
    size: int = 32
    temperature: float = 0.1

    def __post_init__(self):
        limits = {"width": (1, 512), "stages": (1, 6), "proj_dim": (1, 4096), "frames": (1, 256), "size": (8, 1024)}
        for name, (lo, hi) in limits.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise UserError(f"encoder.{name}", f"expected an integer in [{lo}, {hi}], got {v!r}")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 1e-3 <= t <= 10:
            raise UserError("encoder.temperature", f"expected a number in [0.001, 10], got {t!r}")

    @property
    def embed_dim(self) -> int:
        return self.width * 2 ** (self.stages - 1)


#: ``tiny``: trains in seconds on CPU (32×32, 4-frame views; 32-d embedding). ``small``: for a GPU
#: (64×64, 8-frame views; 256-d embedding).
ENCODER_SIZES: dict[str, EncoderConfig] = {
    "tiny": EncoderConfig(width=8, stages=3, proj_dim=32, frames=4, size=32),
    "small": EncoderConfig(width=32, stages=4, proj_dim=128, frames=8, size=64),
}


def _config(config: EncoderConfig | str) -> EncoderConfig:
    if isinstance(config, EncoderConfig):
        return config
    if config not in ENCODER_SIZES:
        raise UserError("encoder", f"unknown encoder size {config!r}; expected one of {sorted(ENCODER_SIZES)}")
    return ENCODER_SIZES[config]


class _Block(nn.Module):
    """Residual (2+1)D block: 1×3×3 spatial conv (stride s in H, W) then 3×1×1 temporal conv."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.spatial = nn.Conv3d(cin, cout, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
        self.norm1 = nn.GroupNorm(1, cout)
        self.temporal = nn.Conv3d(cout, cout, (3, 1, 1), 1, (1, 0, 0), bias=False)
        self.norm2 = nn.GroupNorm(1, cout)
        self.skip = (nn.Identity() if cin == cout and stride == 1
                     else nn.Conv3d(cin, cout, 1, (1, stride, stride), bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(self.spatial(x)))
        return F.silu(self.skip(x) + self.norm2(self.temporal(h)))


class VideoEncoder(nn.Module):
    """(2+1)D-conv backbone + MLP projection head. GroupNorm (no BatchNorm), so a clip's embedding does
    not depend on which other clips share its batch.

    Shape: ``forward`` (B,T,3,H,W) float in [0, 1] → (B, embed_dim); ``project`` (B, embed_dim) → (B, proj_dim).
    """

    def __init__(self, config: EncoderConfig | str = "tiny"):
        super().__init__()
        self.config = _config(config)
        c = self.config
        self.stem = nn.Sequential(nn.Conv3d(3, c.width, (3, 3, 3), (1, 2, 2), 1), nn.SiLU())  # H, W halved
        chans = [c.width * 2 ** i for i in range(c.stages)]
        self.blocks = nn.Sequential(*[_Block(chans[max(i - 1, 0)], chans[i], 1 if i == 0 else 2)
                                      for i in range(c.stages)])
        d = c.embed_dim
        self.head = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, c.proj_dim))
        #: per-step InfoNCE losses of the training that made this encoder (empty when loaded)
        self.train_losses: list[float] = []
        #: JSON-able record of how it was trained (seed, steps, sources); saved in config.json
        self.provenance: dict[str, Any] = {}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.ndim != 5 or video.shape[2] != 3:
            raise ValueError(f"expected video (B,T,3,H,W), got shape {tuple(video.shape)}")
        x = (video.permute(0, 2, 1, 3, 4) - _MEAN) / _STD  # (B,3,T,H,W)
        return self.blocks(self.stem(x)).mean(dim=(2, 3, 4))

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    @torch.no_grad()
    def embed(self, clips: Iterable[np.ndarray | torch.Tensor], batch: int = 64) -> np.ndarray:
        """One embedding per clip (N, embed_dim) float64: the mean backbone feature over the clip's
        consecutive ``frames``-long windows, each resized (short side → ``size``) and centre-cropped.
        Deterministic; the batch size changes results only by float rounding."""
        self.eval()
        out: list[np.ndarray] = []
        pending: list[torch.Tensor] = []

        def flush():
            counts = [len(w) for w in pending]
            feats = torch.cat([self(chunk.to(self.device)).double().cpu()
                               for chunk in torch.cat(pending).split(batch)])
            out.extend(f.mean(0).numpy() for f in feats.split(counts))
            pending.clear()

        for clip in clips:
            pending.append(clip_windows(_as_clip(clip), self.config.frames, self.config.size))
            if sum(len(w) for w in pending) >= batch:
                flush()
        if pending:
            flush()
        return np.stack(out) if out else np.zeros((0, self.config.embed_dim))

    def fingerprint(self) -> str:
        """A short hash of the config and weights: two results are comparable iff their fingerprints match."""
        h = hashlib.sha256(json.dumps(asdict(self.config), sort_keys=True).encode())
        for k, v in sorted(self.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` (architecture + provenance) and ``model.safetensors`` into ``directory``
        (created if needed); each file is written to a temporary name and renamed into place."""
        from safetensors.torch import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        cfg = {"_class_name": _CLASS, "_format": _FORMAT, **asdict(self.config), "provenance": self.provenance}
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        for name, write in ((WEIGHTS_NAME, lambda p: save_file(tensors, p, metadata={"format": _CLASS})),
                            (CONFIG_NAME, lambda p: Path(p).write_text(json.dumps(cfg, indent=1)))):
            with atomic_path(d / name) as tmp:
                write(str(tmp))
        return d

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> "VideoEncoder":
        """Load what :meth:`save_pretrained` wrote. The folder is untrusted data: only JSON and
        safetensors are read; anything malformed is one :class:`UserError` line."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        d = Path(directory)
        expected = f"expected a folder written by VideoEncoder.save_pretrained ({CONFIG_NAME} + {WEIGHTS_NAME})"
        if not (d / CONFIG_NAME).is_file() or not (d / WEIGHTS_NAME).is_file():
            raise UserError("encoder", f"{d}: {expected}")
        try:
            raw = json.loads((d / CONFIG_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise UserError("encoder", f"{d / CONFIG_NAME}: not readable JSON ({exc}); {expected}") from None
        if not isinstance(raw, dict) or raw.get("_class_name") != _CLASS or raw.get("_format") != _FORMAT:
            raise UserError("encoder", f"{d / CONFIG_NAME}: not a {_CLASS} config (format {_FORMAT}); {expected}")
        names = {f.name for f in fields(EncoderConfig)}
        unknown = sorted(set(raw) - names - {"_class_name", "_format", "provenance"})
        if unknown:
            raise UserError("encoder", f"{d / CONFIG_NAME}: unknown key(s) {', '.join(unknown)}")
        enc = cls(EncoderConfig(**{k: raw[k] for k in names if k in raw}))
        prov = raw.get("provenance", {})
        enc.provenance = prov if isinstance(prov, dict) else {}
        try:
            state = load_file(str(d / WEIGHTS_NAME), device="cpu")
            enc.load_state_dict(state, strict=True)
        except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
            why = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise UserError("encoder", f"{d / WEIGHTS_NAME}: weights do not fit the config ({why})") from None
        return enc.to(device).eval()


# ----------------------------------------------------------------------------------------------- clips

ClipLike = Union[np.ndarray, torch.Tensor]


def _as_clip(clip: ClipLike) -> torch.Tensor:
    """(T,H,W,3) uint8 array or (T,3,H,W) uint8 tensor → (T,3,H,W) uint8 tensor."""
    t = torch.from_numpy(np.ascontiguousarray(clip)) if isinstance(clip, np.ndarray) else clip
    if t.ndim == 4 and t.shape[-1] == 3 and t.shape[1] != 3:
        t = t.permute(0, 3, 1, 2)
    if t.ndim != 4 or t.shape[1] != 3 or t.dtype != torch.uint8 or t.shape[0] == 0:
        raise ValueError(f"expected a clip (T,H,W,3) or (T,3,H,W) uint8 with T ≥ 1, got {tuple(t.shape)} {t.dtype}")
    return t


def _resize_short(x: torch.Tensor, short: int) -> torch.Tensor:
    """(N,3,H,W) float → short side exactly ``short`` (antialiased)."""
    h, w = x.shape[-2:]
    s = short / min(h, w)
    size = (max(short, round(h * s)), max(short, round(w * s)))
    return x if size == (h, w) else F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)


def clip_windows(clip: ClipLike, frames: int, size: int) -> torch.Tensor:
    """The evaluation views of a clip: consecutive ``frames``-long windows covering it (the last one
    aligned to the clip's end; a shorter clip repeats its last frame), short side resized to ``size``,
    centre-cropped. Returns (W, frames, 3, size, size) float in [0, 1]."""
    x = _as_clip(clip)
    T = x.shape[0]
    if T < frames:
        x = torch.cat([x, x[-1:].expand(frames - T, -1, -1, -1)])
        T = frames
    starts = list(range(0, T - frames + 1, frames))
    if starts[-1] != T - frames:
        starts.append(T - frames)
    v = _resize_short(x.float() / 255, size)
    h, w = v.shape[-2:]
    y0, x0 = (h - size) // 2, (w - size) // 2
    v = v[..., y0:y0 + size, x0:x0 + size].clamp(0, 1)
    return torch.stack([v[s:s + frames] for s in starts])


def load_clips(data: Any, short_side: int | None = None) -> list[torch.Tensor]:
    """Clips of one or several datasets (``SynthDataset`` or paths) and/or in-memory clips, as a list of
    (T,3,H,W) uint8 tensors; with ``short_side``, larger frames are downscaled so that their short side
    is ``short_side`` (bounds memory when training on big frames)."""
    from ..io.reader import SynthDataset, open_dataset

    items = [data] if isinstance(data, (str, Path, SynthDataset, np.ndarray, torch.Tensor)) else list(data)
    out: list[torch.Tensor] = []
    for item in items:
        if isinstance(item, (np.ndarray, torch.Tensor)):
            clips: Iterable = [item]
        else:
            ds = item if isinstance(item, SynthDataset) else open_dataset(item)
            clips = (c.video() for c in ds)
        for c in clips:
            t = _as_clip(c)
            if short_side is not None and min(t.shape[-2:]) > short_side:
                t = _resize_short(t.float(), short_side).round().clamp(0, 255).to(torch.uint8)
            out.append(t)
    return out


# ------------------------------------------------------------------------------------------- training

def sample_view_starts(length: int, frames: int, g: torch.Generator) -> tuple[int, int]:
    """CVRL's temporal sampling: the gap between the two views is drawn with probability decreasing
    linearly in the gap (P(gap) ∝ max_gap + 1 − gap), the first start uniformly where both fit, and the
    order is random. A clip no longer than a view gives both views the same frames."""
    max_gap = length - frames
    if max_gap <= 0:
        return 0, 0
    weights = torch.arange(max_gap + 1, 0, -1, dtype=torch.float64)
    gap = int(torch.multinomial(weights, 1, generator=g))
    a = int(torch.randint(max_gap - gap + 1, (1,), generator=g))
    return (a, a + gap) if torch.rand((), generator=g) < 0.5 else (a + gap, a)


def _view(clip: torch.Tensor, start: int, frames: int, size: int, g: torch.Generator) -> torch.Tensor:
    """A randomly resized crop (area 30–100 %, aspect 1/2–2, one box for every frame) + maybe a flip,
    as (frames,3,size,size) float in [0, 1]."""
    x = clip[start:start + frames]
    if len(x) < frames:
        x = torch.cat([x, x[-1:].expand(frames - len(x), -1, -1, -1)])
    H, W = x.shape[-2:]
    area = float(torch.empty(()).uniform_(0.3, 1.0, generator=g)) * H * W
    ratio = math.exp(float(torch.empty(()).uniform_(math.log(0.5), math.log(2.0), generator=g)))
    w = min(W, max(1, round(math.sqrt(area * ratio))))
    h = min(H, max(1, round(math.sqrt(area / ratio))))
    y0 = int(torch.randint(H - h + 1, (1,), generator=g))
    x0 = int(torch.randint(W - w + 1, (1,), generator=g))
    v = F.interpolate(x[..., y0:y0 + h, x0:x0 + w].float() / 255, size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False).clamp(0, 1)
    return v.flip(-1) if torch.rand((), generator=g) < 0.5 else v


def augment_views(views: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Colour jitter (p 0.8: brightness, contrast, saturation ×[0.6, 1.4], hue ±0.1 turn) and grayscale
    (p 0.2), parameters drawn from ``g`` once per view and applied to all its frames.
    (B,T,3,H,W) float in [0, 1] → same shape. Parameters are drawn on the CPU, so the same ``g`` gives
    the same augmentation on every device."""
    from kornia.enhance import adjust_hue

    B, T = views.shape[:2]

    def per_view(lo: float, hi: float, identity: float, on: torch.Tensor) -> torch.Tensor:
        v = torch.empty(B, dtype=torch.float64).uniform_(lo, hi, generator=g)
        return torch.where(on, v, torch.full_like(v, identity)).float().to(views.device)

    jitter = torch.rand(B, generator=g) < 0.8
    bright, contrast, sat = (per_view(0.6, 1.4, 1.0, jitter) for _ in range(3))
    hue = per_view(-0.1 * 2 * math.pi, 0.1 * 2 * math.pi, 0.0, jitter)
    gray_on = (torch.rand(B, generator=g) < 0.2).to(views.device)
    b5 = lambda t: t.view(B, 1, 1, 1, 1)  # noqa: E731

    def gray(x: torch.Tensor) -> torch.Tensor:
        return (0.299 * x[:, :, 0:1] + 0.587 * x[:, :, 1:2] + 0.114 * x[:, :, 2:3])

    x = (views * b5(bright)).clamp(0, 1)
    mean = gray(x).mean(dim=(1, 2, 3, 4), keepdim=True)
    x = ((x - mean) * b5(contrast) + mean).clamp(0, 1)
    x = (gray(x) + (x - gray(x)) * b5(sat)).clamp(0, 1)
    x = adjust_hue(x.flatten(0, 1), hue.repeat_interleave(T)).view_as(x).clamp(0, 1)
    return torch.where(b5(gray_on), gray(x).expand_as(x), x)


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE (NT-Xent) over 2B projected views: each view's positive is the other view of its clip,
    the 2B − 2 views of the other clips are its negatives. (B,P), (B,P) → scalar."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    B = len(z1)
    target = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]).to(z.device)
    return F.cross_entropy(sim, target)


def train_video_encoder(data: Any, config: EncoderConfig | str = "tiny", *, steps: int = 200, batch: int = 32,
                        lr: float = 2e-3, weight_decay: float = 1e-4, seed: int = 0,
                        device: str | torch.device = "cpu") -> VideoEncoder:
    """Train a :class:`VideoEncoder` on ``data`` (datasets/paths and/or clips, see :func:`load_clips`)
    with CVRL's objective: ``steps`` AdamW steps (cosine schedule) on ``batch`` distinct clips, two
    views each. Deterministic from ``seed``. The per-step losses are in ``encoder.train_losses``.
    Needs at least 2 clips (a clip's negatives are the other clips of its batch)."""
    cfg = _config(config)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UserError("steps", f"expected an integer ≥ 1, got {steps!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 2:
        raise UserError("batch", f"expected an integer ≥ 2, got {batch!r}")
    clips = load_clips(data, short_side=2 * cfg.size)
    if len(clips) < 2:
        raise UserError("data", f"expected at least 2 clips to train a contrastive encoder, got {len(clips)}")
    device = torch.device(device)
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = VideoEncoder(cfg)
    enc.to(device).train()
    opt = torch.optim.AdamW(enc.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    b = min(batch, len(clips))
    losses: list[float] = []
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
        for _ in range(steps):
            idx = torch.randperm(len(clips), generator=g)[:b].tolist()
            v1, v2 = [], []
            for i in idx:
                s1, s2 = sample_view_starts(len(clips[i]), cfg.frames, g)
                v1.append(_view(clips[i], s1, cfg.frames, cfg.size, g))
                v2.append(_view(clips[i], s2, cfg.frames, cfg.size, g))
            views = augment_views(torch.stack(v1 + v2).to(device), g)
            z = enc.project(enc(views))
            loss = info_nce(z[:b], z[b:], cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    enc.eval()
    enc.train_losses = losses
    enc.provenance = {"objective": "cvrl-infonce", "seed": seed, "steps": steps, "batch": b, "lr": lr,
                      "weight_decay": weight_decay, "clips": len(clips), "sources": _sources(data),
                      "final_loss": losses[-1]}
    return enc


def _sources(data: Any) -> list[str]:
    """What the encoder was trained on, for provenance: dataset recipe hashes (or ``<clips>``)."""
    from ..io.reader import SynthDataset, open_dataset

    items = [data] if isinstance(data, (str, Path, SynthDataset, np.ndarray, torch.Tensor)) else list(data)
    out = []
    for item in items:
        if isinstance(item, (str, Path, SynthDataset)):
            ds = item if isinstance(item, SynthDataset) else open_dataset(item)
            out.append(f"{ds.manifest.recipe_name}@{ds.manifest.recipe_hash}")
        elif "<clips>" not in out:
            out.append("<clips>")
    return out


def with_config(config: EncoderConfig | str, **changes: Any) -> EncoderConfig:
    """A preset with some fields changed, validated (e.g. ``with_config("tiny", frames=2)``)."""
    return replace(_config(config), **changes)

"""The augmentation ops. Each op is a registry entry with a pydantic ``Params`` model; ``sample(rng,
T, H, W)`` draws its random values once per clip (per frame where the op says so) from the explicit
numpy ``rng``, and ``apply`` uses them, so a clip's augmentation is replayable from its seed.

Kinds: ``geometric`` ops return a homography per frame and :func:`~.warp.warp_item` transforms the clip
and every label with it; ``photometric`` ops change pixels only; ``depth`` ops change pixels using the
clip's depth map (fog, rain, night) and leave labels alone.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..registry import Registry

__all__ = ["Op", "AUGMENTATIONS", "register_op"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    p: float = Field(1.0, ge=0.0, le=1.0)  # probability the op is applied to a clip


def span(lo: float, hi: float, *, above: bool = False, kind: type = float) -> Any:
    """A ``(low, high)`` parameter range an op draws from: low ≤ high, both in [lo, hi] (in (lo, hi] with
    ``above``). Checked when the pipeline loads, so a bad range is one line naming the field, not a
    crash (or a silently clamped value) in some DataLoader worker's item."""
    def check(v: tuple) -> tuple:
        a, b = v
        if not all(math.isfinite(x) and (x > lo if above else x >= lo) and x <= hi for x in v):
            raise ValueError(f"expected values in {'(' if above else '['}{lo:g}, {hi:g}], got [{a:g}, {b:g}]")
        if a > b:
            raise ValueError(f"expected [low, high] with low ≤ high, got [{a:g}, {b:g}]")
        return v
    return Annotated[tuple[kind, kind], AfterValidator(check)]


class Op:
    """Base of an op: ``kind``, a ``Params`` model, ``sample`` and ``apply``/``homography``."""

    name: ClassVar[str] = ""
    kind: ClassVar[Literal["geometric", "photometric", "depth"]] = "photometric"
    Params: ClassVar[type[Params]] = Params

    def __init__(self, **params: Any):
        self.params = self.Params.model_validate(params)

    def sample(self, rng: np.random.Generator, T: int, H: int, W: int) -> dict[str, Any]:
        return {}

    def homography(self, draw: dict[str, Any], T: int, H: int, W: int) -> torch.Tensor:
        """(T,3,3) input → output pixel coordinates (geometric ops)."""
        raise NotImplementedError

    def apply(self, video: torch.Tensor, labels: dict, draw: dict[str, Any]) -> torch.Tensor:
        """Pixels of a (T,3,H,W) float clip in [0, 1] (photometric and depth ops)."""
        raise NotImplementedError


#: name → Op subclass
AUGMENTATIONS: Registry[type[Op]] = Registry("augmentation", "synthdata.augmentations")


def register_op(cls: type[Op]) -> type[Op]:
    AUGMENTATIONS.register(cls.name, cls)
    return cls


def _affine(m: np.ndarray, T: int) -> torch.Tensor:
    return torch.as_tensor(np.broadcast_to(m, (T, 3, 3)).copy(), dtype=torch.float64)


# ------------------------------------------------------------------------------------------ geometric
@register_op
class HFlip(Op):
    """Mirror left–right: x' = W − x (flow dx negates, boxes mirror)."""

    name, kind = "hflip", "geometric"

    def homography(self, draw, T, H, W):
        return _affine(np.array([[-1.0, 0, W], [0, 1, 0], [0, 0, 1]]), T)


class CropParams(Params):
    scale: span(0, 1, above=True) = (0.5, 1.0)  # crop area / image area
    ratio: span(0, 100, above=True) = (0.75, 1.333)  # crop aspect (w/h) relative to the image's


@register_op
class Crop(Op):
    """Random resized crop: a window of the frame, scaled back to the full size (one per clip)."""

    name, kind, Params = "crop", "geometric", CropParams

    def sample(self, rng, T, H, W):
        area = rng.uniform(*self.params.scale)
        ratio = math.exp(rng.uniform(*np.log(self.params.ratio)))
        cw, ch = min(1.0, math.sqrt(area * ratio)) * W, min(1.0, math.sqrt(area / ratio)) * H
        return {"x0": rng.uniform(0, W - cw), "y0": rng.uniform(0, H - ch), "cw": cw, "ch": ch}

    def homography(self, d, T, H, W):
        sx, sy = W / d["cw"], H / d["ch"]
        return _affine(np.array([[sx, 0, -d["x0"] * sx], [0, sy, -d["y0"] * sy], [0, 0, 1]]), T)


class AffineParams(Params):
    degrees: float = Field(10.0, ge=0, le=180)
    scale: span(0, 100, above=True) = (0.9, 1.1)
    translate: float = Field(0.1, ge=0, le=1)  # fraction of the image size


@register_op
class Affine(Op):
    """Rotation, scale and translation about the image centre (one per clip)."""

    name, kind, Params = "affine", "geometric", AffineParams

    def sample(self, rng, T, H, W):
        p = self.params
        return {"angle": math.radians(rng.uniform(-p.degrees, p.degrees)), "scale": rng.uniform(*p.scale),
                "tx": rng.uniform(-p.translate, p.translate) * W, "ty": rng.uniform(-p.translate, p.translate) * H}

    def homography(self, d, T, H, W):
        c, s = math.cos(d["angle"]) * d["scale"], math.sin(d["angle"]) * d["scale"]
        cx, cy = W / 2, H / 2
        m = np.array([[c, -s, cx - c * cx + s * cy + d["tx"]], [s, c, cy - s * cx - c * cy + d["ty"]], [0, 0, 1]])
        return _affine(m, T)


class PerspectiveParams(Params):
    distortion: float = Field(0.2, ge=0, le=0.5)  # corner jitter, fraction of the image size


@register_op
class Perspective(Op):
    """A random perspective warp: each corner moves by up to ``distortion`` of the image (one per clip)."""

    name, kind, Params = "perspective", "geometric", PerspectiveParams

    def sample(self, rng, T, H, W):
        d = self.params.distortion
        return {"jitter": rng.uniform(0, d, (4, 2)) * np.array([W, H])}

    def homography(self, d, T, H, W):
        from kornia.geometry.transform import get_perspective_transform

        src = np.array([[0, 0], [W, 0], [W, H], [0, H]], dtype=np.float64)
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
        dst = src + inward * d["jitter"]
        m = get_perspective_transform(torch.tensor(src[None]), torch.tensor(dst[None]))[0].numpy()
        return _affine(m, T)


# ---------------------------------------------------------------------------------------- photometric
class JitterParams(Params):
    brightness: float = Field(0.2, ge=0, le=1)
    contrast: float = Field(0.2, ge=0, le=1)
    saturation: float = Field(0.2, ge=0, le=1)
    hue: float = Field(0.02, ge=0, le=0.5)


@register_op
class ColorJitter(Op):
    """Brightness, contrast, saturation and hue, one draw per clip (kornia.enhance)."""

    name, Params = "color_jitter", JitterParams

    def sample(self, rng, T, H, W):
        p = self.params
        return {k: rng.uniform(1 - getattr(p, k), 1 + getattr(p, k)) for k in ("brightness", "contrast", "saturation")} \
            | {"hue": rng.uniform(-p.hue, p.hue)}

    def apply(self, video, labels, d):
        from kornia.enhance import adjust_contrast, adjust_hue, adjust_saturation

        x = (video * d["brightness"]).clamp(0, 1)
        x = adjust_contrast(x, d["contrast"]).clamp(0, 1)
        x = adjust_saturation(x, d["saturation"]).clamp(0, 1)
        return adjust_hue(x, d["hue"] * 2 * math.pi).clamp(0, 1)


class BlurParams(Params):
    sigma: span(0, 100, above=True) = (0.3, 1.5)  # pixels


@register_op
class Blur(Op):
    """Gaussian blur (kornia.filters), one sigma per clip."""

    name, Params = "blur", BlurParams

    def sample(self, rng, T, H, W):
        return {"sigma": rng.uniform(*self.params.sigma)}

    def apply(self, video, labels, d):
        from kornia.filters import gaussian_blur2d

        k = 2 * math.ceil(3 * d["sigma"]) + 1
        return gaussian_blur2d(video, (k, k), (d["sigma"], d["sigma"]))


class NoiseParams(Params):
    std: span(0, 1) = (0.01, 0.05)


@register_op
class Noise(Op):
    """Gaussian sensor noise, drawn per pixel and frame from the clip's seed."""

    name, Params = "noise", NoiseParams

    def sample(self, rng, T, H, W):
        return {"std": rng.uniform(*self.params.std), "seed": int(rng.integers(2**62))}

    def apply(self, video, labels, d):
        g = torch.Generator().manual_seed(d["seed"])
        return (video + d["std"] * torch.randn(video.shape, generator=g).to(video)).clamp(0, 1)


class JpegParams(Params):
    quality: span(1, 100) = (30, 90)


@register_op
class Jpeg(Op):
    """JPEG artefacts (kornia's differentiable JPEG codec), one quality per clip."""

    name, Params = "jpeg", JpegParams

    def sample(self, rng, T, H, W):
        return {"quality": rng.uniform(*self.params.quality)}

    def apply(self, video, labels, d):
        from kornia.enhance import jpeg_codec_differentiable

        H, W = video.shape[-2:]
        ph, pw = (-H) % 16, (-W) % 16  # the codec works on 16×16 macro blocks
        x = torch.nn.functional.pad(video, (0, pw, 0, ph), mode="replicate")
        q = torch.full((video.shape[0],), float(d["quality"]), dtype=video.dtype)
        return jpeg_codec_differentiable(x, q)[..., :H, :W].clamp(0, 1)


class H264Params(Params):
    crf: span(0, 51, kind=int) = (28, 40)  # x264's scale


@register_op
class H264(Op):
    """Real H.264 artefacts: the clip is encoded with libx264 at a random CRF and decoded (PyAV)."""

    name, Params = "h264", H264Params

    def sample(self, rng, T, H, W):
        return {"crf": int(rng.integers(self.params.crf[0], self.params.crf[1] + 1))}

    def apply(self, video, labels, d):
        import tempfile
        from pathlib import Path

        from ..io.video import decode_mp4, encode_mp4

        rgb = (video.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        H, W = rgb.shape[1:3]
        pad = np.pad(rgb, ((0, 0), (0, H % 2), (0, W % 2), (0, 0)), mode="edge")  # yuv420p needs even sides
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "clip.mp4"
            encode_mp4(pad, path, 12.0, "h264", d["crf"])
            out = decode_mp4(path)[:, :H, :W]
        return torch.from_numpy(np.ascontiguousarray(out)).to(video).permute(0, 3, 1, 2) / 255.0


# -------------------------------------------------------------------------------------- depth-aware
def _depth(labels: dict, video: torch.Tensor) -> torch.Tensor:
    from ..errors import UserError

    if "depth" not in labels:
        raise UserError("augment", "fog, rain and night need the depth map: open the dataset with maps=('depth', …)")
    return labels["depth"].to(video.dtype)[:, None]  # (T,1,H,W), +inf for sky


class FogParams(Params):
    density: span(0, 100) = (0.02, 0.1)  # per metre
    color: tuple[Annotated[float, Field(ge=0, le=1)], ...] = Field((0.75, 0.77, 0.8), min_length=3, max_length=3)


@register_op
class Fog(Op):
    """Exponential fog from depth: I·e^(−βd) + c·(1 − e^(−βd)); the sky (d = ∞) is all fog."""

    name, kind, Params = "fog", "depth", FogParams

    def sample(self, rng, T, H, W):
        return {"density": rng.uniform(*self.params.density)}

    def apply(self, video, labels, d):
        t = torch.exp(-d["density"] * _depth(labels, video))
        c = torch.tensor(self.params.color, dtype=video.dtype)[None, :, None, None]
        return video * t + c * (1 - t)


class NightParams(Params):
    darkness: span(0, 1) = (0.1, 0.3)  # ambient light left
    headlight: span(0, 1000) = (0.02, 0.1)  # falloff k in 1/(1 + k·d²)


@register_op
class Night(Op):
    """Night: darken, then light the scene with a camera headlight that falls off as 1/(1 + k·d²)."""

    name, kind, Params = "night", "depth", NightParams

    def sample(self, rng, T, H, W):
        return {"dark": rng.uniform(*self.params.darkness), "k": rng.uniform(*self.params.headlight)}

    def apply(self, video, labels, d):
        depth = _depth(labels, video)
        light = torch.where(torch.isfinite(depth), 1 / (1 + d["k"] * depth.clamp(max=1e6) ** 2), torch.zeros_like(depth))
        return (video * (d["dark"] + (1 - d["dark"]) * light)).clamp(0, 1)


class RainParams(Params):
    drops: span(1, 100_000, kind=int) = (20, 60)  # streaks per frame at 256×256, scaled with the image area
    length: span(0, 1, above=True) = (0.03, 0.08)  # fraction of the image height
    brightness: float = Field(0.35, ge=0, le=1)


@register_op
class Rain(Op):
    """Rain streaks (per frame) that fade with the depth behind them, and a slight dimming."""

    name, kind, Params = "rain", "depth", RainParams

    def sample(self, rng, T, H, W):
        lo, hi = self.params.drops
        n = max(1, int((rng.integers(lo, hi) if hi > lo else lo) * H * W / 65536))
        return {"x": rng.uniform(0, W, (T, n)), "y": rng.uniform(0, H, (T, n)),
                "len": rng.uniform(*self.params.length, (T, n)) * H, "slant": rng.uniform(-0.3, 0.3)}

    def apply(self, video, labels, d):
        T, _, H, W = video.shape
        depth = _depth(labels, video)
        streak = torch.zeros(T, 1, H, W, dtype=video.dtype)
        for t in range(T):
            for x, y, ln in zip(d["x"][t], d["y"][t], d["len"][t]):
                for s in np.linspace(0, 1, max(2, int(ln))):
                    xi, yi = int(x + d["slant"] * s * ln), int(y + s * ln)
                    if 0 <= xi < W and 0 <= yi < H:
                        streak[t, 0, yi, xi] = 1.0
        near = torch.exp(-torch.where(torch.isfinite(depth), depth, torch.full_like(depth, 1e3)) / 30.0)
        return (video * 0.9 + self.params.brightness * streak * (0.3 + 0.7 * near)).clamp(0, 1)

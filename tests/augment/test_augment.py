"""Every geometric op moves every label with the pixels; photometric ops touch pixels only; replayable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import synthdata
from synthdata.augment import AUGMENTATIONS, Op, ParamCropModule, load_pipeline, register_op, warp_item
from synthdata.errors import UserError
from synthdata.integrations.torch_dataset import ClipDataset, collate_clips

from ..conftest import SYNC2

MAPS = ("semantic", "instance", "depth", "flow_fwd", "flow_bwd")
GEOMETRIC = ["hflip", "crop", "affine", "perspective", "paramcrop"]
PHOTOMETRIC = ["color_jitter", "blur", "noise", "jpeg", "h264", "fog", "rain", "night"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> ClipDataset:
    out = tmp_path_factory.mktemp("augment") / "shapes"
    synthdata.generate("shapes", clips=2, out=out, compute=SYNC2, progress=False,
                       overrides=["clip.frames=4", "clip.width=64", "clip.height=64", "device=cpu", "seed=5",
                                  "output.video_codec=h264_lossless", "annotations.tracks.enabled=true",
                                  "annotations.tracks.points=96", "annotations.tracks.query_stride=2"])
    return ClipDataset(synthdata.open_dataset(out), maps=MAPS)


def _only(name: str, **params):
    return load_pipeline({"ops": [{"name": name, "p": 1.0, **params}]})


def _flow_hits(video, lab) -> float:
    """Share of object pixels whose forward flow lands (inside the next frame) on the same object."""
    inst, flow = lab["instance"], lab["flow_fwd"]
    T, H, W = inst.shape
    hits = total = 0
    for t in range(T - 1):
        ys, xs = torch.nonzero(inst[t] > 0, as_tuple=True)
        f = flow[t, ys, xs].double()
        tx, ty = (xs + 0.5 + f[:, 0]).floor().long(), (ys + 0.5 + f[:, 1]).floor().long()
        ok = torch.isfinite(f).all(1) & (tx >= 1) & (tx < W - 1) & (ty >= 1) & (ty < H - 1)
        # object-edge pixels are ambiguous after resampling: count interior pixels only
        interior = torch.ones_like(ok)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            interior &= inst[t, (ys + dy).clamp(0, H - 1), (xs + dx).clamp(0, W - 1)] == inst[t, ys, xs]
        ok &= interior
        hits += int((inst[t + 1, ty[ok], tx[ok]] == inst[t, ys[ok], xs[ok]]).sum())
        total += int(ok.sum())
    return hits / max(total, 1)


def _homography(name: str, seed: int, shape, **params) -> torch.Tensor:
    """The (T,3,3) warp the one-op pipeline applies for ``seed`` (its draws replayed in order)."""
    op = AUGMENTATIONS.get(name)(p=1.0, **params)
    T, _, H, W = shape
    rng = np.random.default_rng(seed)
    rng.random()
    return op.homography(op.sample(rng, T, H, W), T, H, W) if op.kind == "geometric" else torch.eye(3).expand(T, 3, 3)


def _rgb_follows(v0, v1, l1, A) -> float:
    """Median colour difference between each interior object pixel of the output and the input pixel
    the warp says it came from: small when the image and the labels moved together."""
    from synthdata.augment.warp import apply_homography

    T, _, H, W = v1.shape
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    grid = torch.stack([xs, ys], -1).reshape(1, -1, 2).double()
    src = apply_homography(torch.linalg.inv(A.double()), grid).floor().long()  # (T,HW,2)
    inst = l1["instance"]
    interior = inst > 0
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        interior &= torch.roll(inst, (dy, dx), (1, 2)) == inst
    diffs = []
    for t in range(T):
        sx, sy = src[t, :, 0].reshape(H, W), src[t, :, 1].reshape(H, W)
        ok = interior[t] & (sx >= 0) & (sx < W) & (sy >= 0) & (sy < H)
        orig = v0[t][:, sy[ok], sx[ok]].float()
        diffs.append((v1[t][:, ok].float() - orig).abs().mean(0))
    return float(torch.cat(diffs).median())


def _points_on_owner(lab) -> float:
    """Share of visible track points (and v=2 keypoints, within one pixel) that lie on their owner in
    the instance map."""
    inst = lab["instance"]
    T, H, W = inst.shape
    pts, vis, owner = lab["points"], lab["points_visible"], lab["points_track_id"] + 1
    p, t = torch.nonzero(vis, as_tuple=True)
    xy = pts[p, t].floor().long()
    hits = (inst[t, xy[:, 1].clamp(0, H - 1), xy[:, 0].clamp(0, W - 1)] == owner[p]).tolist()
    kp, kv = lab["keypoints"], lab["keypoint_visibility"]
    for r, k in zip(*torch.nonzero(kv == 2, as_tuple=True)):
        x, y = kp[r, k].floor().long().tolist()
        patch = inst[lab["frame_index"][r], max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
        hits.append(bool((patch == lab["track_id"][r] + 1).any()))
    assert len(hits) > 100
    return sum(hits) / len(hits)


def check_labels(before, after, table: torch.Tensor, flow_floor: float, A: torch.Tensor) -> None:
    """The checks a geometric op must pass (and a label-breaking op must fail)."""
    (v0, l0), (v1, l1) = before, after
    assert torch.equal(l1["semantic"], table[l1["instance"]]), "semantic map no longer matches the instance map"
    for b, k, tr in zip(l1["boxes"], l1["frame_index"], l1["track_id"]):  # boxes = the warped mask's bbox
        ys, xs = torch.nonzero(l1["instance"][k] == tr + 1, as_tuple=True)
        assert b.tolist() == [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    assert _flow_hits(v1, l1) >= flow_floor, "flow no longer carries object pixels onto their object"
    assert _points_on_owner(l1) >= 0.9, "point tracks no longer lie on their surface"
    assert _rgb_follows(v0, v1, l1, A) < 12, "the image moved without its labels"


def _table(item) -> torch.Tensor:
    inst, sem = item[1]["instance"], item[1]["semantic"]
    table = torch.zeros(int(inst.max()) + 1, dtype=sem.dtype)
    table[inst.flatten()] = sem.flatten()
    return table


@pytest.mark.parametrize("name", GEOMETRIC)
def test_geometric_ops_move_every_label(clips, name):
    item = clips[0]
    floor = _flow_hits(*item) - 0.03  # what the renderer's own flow achieves, less resampling at edges
    assert floor > 0.9
    for seed in range(3):
        out = _only(name)(item, seed=seed)
        assert not torch.equal(out[0], item[0])
        check_labels(item, out, _table(item), floor, _homography(name, seed, item[0].shape))


def test_hflip_negates_dx_exactly(clips):
    video, lab = clips[0]
    _, out = _only("hflip")((video, lab), seed=0)
    f0, f1 = lab["flow_fwd"], out["flow_fwd"]
    inner = slice(1, -1)
    assert torch.allclose(f1[:, :, inner, 0], -f0.flip(2)[:, :, inner, 0], atol=1e-4)
    assert torch.allclose(f1[:, :, inner, 1], f0.flip(2)[:, :, inner, 1], atol=1e-4)
    assert torch.equal(out["instance"], lab["instance"].flip(2))


def test_a_label_breaking_op_is_caught(clips):
    """A deliberately wrong op (flip the image, not the labels) must fail the same checks."""

    @register_op
    class FlipImageOnly(Op):
        name = "flip_image_only"

        def apply(self, video, labels, draw):
            return video.flip(-1)

    try:
        item = clips[0]
        with pytest.raises(AssertionError, match="the image moved without its labels"):
            check_labels(item, _only("flip_image_only")(item, seed=0), _table(item), 0.0,
                         _homography("flip_image_only", 0, item[0].shape))
    finally:
        AUGMENTATIONS._items.pop("flip_image_only")


@pytest.mark.parametrize("name", PHOTOMETRIC)
def test_photometric_and_depth_ops_leave_labels_alone(clips, name):
    video, lab = clips[0]
    out_v, out_l = _only(name)((video, lab), seed=1)
    assert out_v.shape == video.shape and out_v.dtype == video.dtype and not torch.equal(out_v, video)
    assert out_l.keys() == lab.keys() and all(out_l[k] is lab[k] or out_l[k].numpy().tobytes() == lab[k].numpy().tobytes()
                                               for k in lab)


def test_same_seed_same_bytes_other_seed_differs(clips):
    pipe = load_pipeline("geometric")
    a, b, c = pipe(clips[1], seed=7), pipe(clips[1], seed=7), pipe(clips[1], seed=8)
    assert torch.equal(a[0], b[0]) and all(a[1][k].numpy().tobytes() == b[1][k].numpy().tobytes() for k in a[1])
    assert not torch.equal(a[0], c[0])


def test_fog_grows_with_depth():
    T, H, W = 1, 4, 8
    depth = torch.linspace(1, 100, W).expand(T, H, W).clone()
    depth[..., -1] = float("inf")  # sky: all fog
    video = torch.zeros(T, 3, H, W, dtype=torch.uint8)
    out, _ = _only("fog", density=[0.05, 0.05])((video, {"depth": depth}), seed=0)
    row = out[0, 0, 0].float()
    assert (row[1:] >= row[:-1]).all() and row[-1] == round(0.75 * 255)


def test_weather_without_depth_names_what_is_missing(clips):
    video, lab = clips[0]
    with pytest.raises(UserError, match="need the depth map"):
        _only("fog")((video, {k: v for k, v in lab.items() if k != "depth"}), seed=0)


def test_paramcrop_is_smooth_and_learnable(clips):
    video, lab = clips[0]
    crop = ParamCropModule(scale=0.7)
    with torch.no_grad():
        crop.coef[0, 1] = 0.2  # the centre drifts right over the clip
    A = crop.homographies(4, 64, 64)
    shifts = A[:, 0, 2].detach()
    assert (shifts[1:] < shifts[:-1]).all()  # a window moving right: smooth, monotone translation
    rgb, out = crop(video.float() / 255, lab)
    rgb.mean().backward()
    assert crop.coef.grad is not None and crop.coef.grad.abs().sum() > 0
    before = crop.coef.detach().clone()
    crop.adversarial_step(0.05)
    assert not torch.equal(before, crop.coef.detach())
    check_labels((video, lab), ((rgb.detach() * 255).round().to(torch.uint8), out), _table((video, lab)),
                 _flow_hits(video, lab) - 0.05, A.detach())


def test_bad_configs_name_the_field():
    with pytest.raises(UserError, match="augment.ops.0.name: unknown augmentation 'hflp' \\(did you mean 'hflip'\\?\\)"):
        load_pipeline({"ops": [{"name": "hflp"}]})
    with pytest.raises(UserError, match="augment.ops.0.degrees: Input should be less than or equal to 180"):
        load_pipeline({"ops": [{"name": "affine", "degrees": 400}]})
    with pytest.raises(UserError, match="augment: unknown augmentation pipeline 'lihgt' \\(did you mean 'light'\\?\\)"):
        load_pipeline("lihgt")


def test_dataset_transform_in_a_dataloader_with_workers(clips):
    ds = ClipDataset(clips.ds, maps=("semantic",), transform=load_pipeline("light"), seed=3)
    assert "instance" in ds.maps  # the pipeline asks for what its geometric ops need
    direct = [ds[i] for i in range(len(ds))]
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_clips)
    videos, labels = next(iter(loader))
    assert torch.equal(videos, torch.stack([v for v, _ in direct]))
    assert all(torch.equal(labels[i]["boxes"], direct[i][1]["boxes"]) for i in range(len(ds)))


def test_the_dataset_item_holds_tracks_and_keypoints(clips):
    """Point tracks and keypoints reach the torch item, equal to the tables (and lie on their owner)."""
    video, lab = clips[0]
    clip = clips.ds.clip(0)
    tracks = clip.tracks().to_pandas()
    P = tracks.point_id.nunique()
    assert lab["points"].shape == (P, 4, 2) and lab["points_visible"].shape == (P, 4)
    row = tracks[(tracks.point_id == 7) & (tracks.frame_index == 3)].iloc[0]
    assert lab["points"][7, 3].tolist() == pytest.approx([row.x, row.y]) and bool(lab["points_visible"][7, 3]) == row.visible
    assert lab["keypoints"].shape[1:] == (8, 2) and lab["keypoint_visibility"].shape == lab["keypoints"].shape[:2]
    assert _points_on_owner(lab) > 0.99


def test_a_flip_moves_every_map_and_swaps_left_and_right_keypoints():
    """Found by a docs-vs-code review: hflip left `road`, `lane` and `flow_valid` maps unmirrored (only
    the maps it knew by name were warped), and mirrored keypoints kept their names, so a flipped
    person's left wrist sat on its right side."""
    from synthdata.integrations.torch_dataset import mirror_order

    assert mirror_order(["nose", "left_eye", "right_eye", "jaw_left", "jaw_right", "front_left_top",
                         "front_right_top", "tip"]) == [0, 2, 1, 4, 3, 6, 5, 7]
    T, H, W = 2, 6, 8
    video = torch.zeros(T, 3, H, W, dtype=torch.uint8)
    road = torch.zeros(T, H, W, dtype=torch.int64)
    road[:, :, :2] = 3  # paint on the left edge
    valid = torch.zeros(T, H, W, dtype=torch.bool)
    valid[:, :, :3] = True
    labels = {"road": road, "flow_valid": valid, "frame_index": torch.tensor([0, 1]), "track_id": torch.tensor([0, 0]),
              "class_id": torch.tensor([1, 1]), "boxes": torch.tensor([[1.0, 1, 3, 3]] * 2),
              "keypoints": torch.tensor([[[1.0, 2.0], [6.0, 2.0], [4.0, 4.0]]] * 2),  # left, right, centre
              "keypoint_visibility": torch.tensor([[2, 1, 2]] * 2), "keypoint_flip": torch.tensor([[1, 0, 2]] * 2)}
    flip = load_pipeline({"ops": [{"name": "hflip", "p": 1.0}]})
    _, out = flip((video, labels), seed=0)
    assert torch.equal(out["road"], road.flip(-1)) and torch.equal(out["flow_valid"], valid.flip(-1))
    # slot 0 (left) now holds the mirror of the old right keypoint, which is on the left again
    assert out["keypoints"][0].tolist() == [[2.0, 2.0], [7.0, 2.0], [4.0, 4.0]]
    assert out["keypoint_visibility"][0].tolist() == [1, 2, 2]


@pytest.mark.parametrize("op, field, value", [
    ("crop", "scale", [-0.5, 0.2]), ("crop", "scale", [0.9, 0.1]), ("crop", "ratio", [0, 1]), ("crop", "scale", [3, 4]),
    ("affine", "scale", [0, 1]), ("blur", "sigma", [0, 0]), ("noise", "std", [-1, -0.5]), ("jpeg", "quality", [150, 200]),
    ("h264", "crf", [60, 70]), ("rain", "drops", [0, 0]), ("fog", "density", [-1, -1]), ("fog", "color", [2, 0, 0]),
    ("night", "darkness", [2, 3]), ("paramcrop", "scale", [5, 6]), ("paramcrop", "scale", [0, 0]),
])
def test_op_ranges_are_checked_when_the_pipeline_loads(op, field, value):
    """Found by a review: ranges were never checked, so a bad one crashed inside a DataLoader item
    (``crop scale [-0.5, 0.2]``: math domain error; ``blur sigma [0, 0]``) or was taken silently
    (``night darkness [2, 3]`` brightened the image; ``crop scale [3, 4]`` clamped to the full frame)."""
    with pytest.raises(UserError, match=rf"^augment\.ops\.0\.{field}[.0-9]*: "):
        load_pipeline({"ops": [{"name": op, field: value}]})


def test_equal_range_ends_draw_that_value(clips):
    video, lab = clips[0]
    out, _ = load_pipeline({"ops": [{"name": "rain", "drops": [30, 30]}, {"name": "blur", "sigma": [1, 1]}]})((video, lab), 0)
    assert out.shape == video.shape and not torch.equal(out, video)


def test_stacked_geometric_ops_resample_once(clips):
    """Found by a review: affine + perspective + paramcrop resampled the clip and every label once per
    op (a third of the objects' pixels in the instance map moved off the single warp; RGB blurred
    thrice). Consecutive geometric ops now make one warp by their product."""
    names = ["affine", "perspective", "paramcrop"]
    video, lab = clips[0]
    pipe = load_pipeline({"ops": [{"name": n, "p": 1.0} for n in names]})
    T, _, H, W = video.shape
    rng, A = np.random.default_rng(4), torch.eye(3, dtype=torch.float64).expand(T, 3, 3)
    for op in pipe.ops:  # the pipeline's draws, in its order
        rng.random()
        A = op.homography(op.sample(rng, T, H, W), T, H, W).double() @ A
    v1, l1 = pipe((video, lab), seed=4)
    v2, l2 = warp_item(video, lab, A)
    assert torch.equal(v1, v2) and torch.equal(l1["instance"], l2["instance"]) and torch.equal(l1["boxes"], l2["boxes"])


def test_after_a_crop_flow_valid_and_track_queries_keep_their_meaning(clips):
    """Found by a review: ``flow_valid`` was resampled but not re-checked (valid flow landing outside the
    cropped image), and track points left the image at their own query frame (172 of 256)."""
    ds = ClipDataset(clips.ds, maps=(*MAPS, "flow_valid"))
    video, lab = ds[0]
    _, out = _only("crop", scale=[0.2, 0.3])((video, lab), seed=1)
    T, H, W = out["instance"].shape
    for bit, key in ((1, "flow_fwd"), (2, "flow_bwd")):
        ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
        tx, ty = xs + out[key][..., 0], ys + out[key][..., 1]
        lands = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
        assert not ((out["flow_valid"] & bit).bool() & ~lands).any(), key
    q = out["points_query_frame"]
    inside = (q >= 0) & (q < T)
    assert inside.any() and (~inside).any()  # this crop leaves some points with no visible frame at all
    p = torch.nonzero(inside).squeeze(1)
    assert out["points_visible"][p, q[p]].all()
    assert not out["points_visible"][~inside].any()


@pytest.fixture(scope="module")
def semantic_only(tmp_path_factory):
    """A dataset without instance and depth maps (semantic and flow only)."""
    out = tmp_path_factory.mktemp("augment") / "semantic"
    synthdata.generate("shapes", clips=1, out=out, compute=SYNC2, progress=False,
                       overrides=["clip.frames=4", "clip.width=32", "clip.height=32", "device=cpu",
                                  "annotations.instance=false", "annotations.depth=false"])
    return synthdata.open_dataset(out)


def test_a_transforms_maps_are_checked_when_the_dataset_is_made(semantic_only):
    """Found by a review: weather on a dataset without depth built fine and failed in some items only (the
    ones whose fog, rain or night fired); a window dataset with any geometric pipeline blamed ``maps``
    for an 'instance' the user never asked for. Depth is required (one ``transform`` line, at once); the
    instance map, which makes boxes exact, is used when the dataset has one, box corners when not."""
    ds = semantic_only
    for make in (lambda t: ClipDataset(ds, maps=("semantic",), transform=t),
                 lambda t: ds.torch_dataset(unit="window", window=2, maps=("semantic",), transform=t)):
        with pytest.raises(UserError, match=r"^transform: .*needs the dataset's depth map"):
            make(load_pipeline("weather"))
        item = make(load_pipeline({"ops": [{"name": "hflip"}]}))[0]
        boxes = item[1]["boxes"] if isinstance(item, tuple) else item["boxes"]
        assert torch.isfinite(boxes).any()


def test_set_epoch_draws_new_augmentations_and_epoch_0_is_unchanged(clips):
    """Found by a review: every epoch drew the same augmentation for an item (its seed was the index's
    alone), so augmenting acted as a fixed copy of the data. ``set_epoch`` (as DistributedSampler's)
    folds the epoch in; epoch 0 keeps the seeds items always had."""
    pipe = load_pipeline({"ops": [{"name": "affine", "p": 1.0}]})
    ds = ClipDataset(clips.ds, maps=MAPS, transform=pipe, seed=3)
    first = ds[1][0]
    assert torch.equal(first, pipe(ClipDataset(clips.ds, maps=MAPS)[1], seed=3 * 1_000_003 + 1)[0])
    ds.set_epoch(1)
    second = ds[1][0]
    assert not torch.equal(first, second) and torch.equal(second, ds[1][0])
    ds.set_epoch(0)
    assert torch.equal(ds[1][0], first)
    windows = clips.ds.torch_dataset(unit="window", window=2, maps=("semantic",), transform=pipe, seed=3)
    a = windows[0]["video"]
    windows.set_epoch(2)
    assert not torch.equal(a, windows[0]["video"])


def test_windows_return_every_map_asked_and_the_point_tracks(clips):
    """Found by a review: a window item dropped maps outside a fixed list (``flow_valid`` asked for, not
    returned, and not cut to the window) and never returned point tracks."""
    windows = clips.ds.torch_dataset(unit="window", window=2, stride=2, maps=("semantic", "flow_valid"))
    whole = ClipDataset(clips.ds, maps=("semantic", "flow_valid"))[0][1]
    item = windows[1]  # clip 0, frames 2-3
    assert torch.equal(item["flow_valid"], whole["flow_valid"][2:4])
    assert torch.equal(item["points"], whole["points"][:, 2:4]) and torch.equal(item["points_visible"], whole["points_visible"][:, 2:4])
    assert torch.equal(item["points_query_frame"], whole["points_query_frame"] - 2)

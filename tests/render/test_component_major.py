"""The ray-caster keeps per-hit vectors component-major (each of x, y, z contiguous) for speed; these
helpers must stay exact: the same bytes as the plain expressions they replace."""

import pytest
import torch

from synthdata.render.raycast.backend import _r, _rT
from synthdata.render.raycast.layout import soa as _soa, soa_stack as _soa_stack, take as _take
from synthdata.render.raycast.textures import _mod2, corner_hashes, filtered_square, value_noise


def _component_major(x: torch.Tensor) -> bool:
    """(M,...) rows stored as (values, M): each value's column contiguous."""
    return x.reshape(x.shape[0], -1).t().is_contiguous()


def _aos_rT(v, R):  # the interleaved formula the renderer used before: the bit-for-bit reference
    return v[..., 0:1] * R[..., 0, :] + v[..., 1:2] * R[..., 1, :] + v[..., 2:3] * R[..., 2, :]


def _aos_r(v, R):
    return v[..., 0:1] * R[..., :, 0] + v[..., 1:2] * R[..., :, 1] + v[..., 2:3] * R[..., :, 2]


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(7)


@pytest.mark.parametrize("shape", [(50,), (50, 3), (50, 2, 3), (50, 3, 3), (1, 3)])
@pytest.mark.parametrize("layout", ["interleaved", "component-major"])
def test_take_is_advanced_indexing(shape, layout, gen):
    x = torch.randn(shape, generator=gen)
    if layout == "component-major" and x.dim() > 1:
        x = _soa(list(x.reshape(x.shape[0], -1).unbind(-1))).reshape(shape)
        assert _component_major(x)
    for i in (torch.randint(0, shape[0], (37,), generator=gen), torch.tensor([], dtype=torch.long),
              torch.arange(shape[0]).flip(0)):
        out = _take(x, i)
        assert out.shape == x[i].shape and torch.equal(out, x[i])
        if x.dim() > 1 and i.numel():
            assert _component_major(out)


def test_take_of_integer_tables(gen):
    table = torch.randint(-5, 5, (9, 3), generator=gen)
    i = torch.randint(0, 9, (100,), generator=gen)
    assert torch.equal(_take(table, i), table[i])


@pytest.mark.parametrize("per_row", [False, True])
def test_rotations_match_the_interleaved_formula_bit_for_bit(per_row, gen):
    v = torch.randn(500, 3, generator=gen) * 40
    R = torch.linalg.qr(torch.randn(500 if per_row else 1, 3, 3, generator=gen))[0]
    R = R if per_row else R[0]
    for fast, ref in ((_rT, _aos_rT), (_r, _aos_r)):
        out = fast(v, R)
        assert torch.equal(out, ref(v, R)) and _component_major(out)
    assert torch.allclose(_rT(v, R), (R.transpose(-1, -2) @ v[..., None])[..., 0], atol=1e-4)
    assert torch.allclose(_r(v, R), (R @ v[..., None])[..., 0], atol=1e-4)
    # broadcast shapes of the dense pass: (B,h,w,3) directions against (B,1,1,3,3) poses
    d = torch.randn(2, 4, 5, 3, generator=gen)
    Rb = torch.linalg.qr(torch.randn(2, 3, 3, generator=gen))[0][:, None, None]
    assert torch.equal(_rT(d, Rb), _aos_rT(d, Rb))


def test_soa_stack_is_stack(gen):
    a, b = torch.randn(40, 3, generator=gen), torch.randn(40, 3, generator=gen)
    out = _soa_stack([a, b])
    assert torch.equal(out, torch.stack([a, b], 1)) and _component_major(out)


def test_mod2_is_remainder(gen):
    x = torch.cat([torch.randn(20000, generator=gen) * s for s in (1e-6, 1e-3, 1, 10, 1e3, 1e6, 1e9)]
                  + [torch.tensor([0.0, -0.0, 2.0, -2.0, 4.0, -4.0, 1.0, -1.0, 1.9999999, -1e-30, 1e-30,
                                   16777216.0, 16777218.0, -16777217.0, 3e38, -3e38])])
    a, b = _mod2(x), torch.remainder(x, 2.0)
    assert torch.equal(a, b)  # as numbers; a zero is +0 where remainder keeps x's sign (see _mod2)
    assert torch.equal(a.view(torch.int32)[b != 0], b.view(torch.int32)[b != 0])  # every other bit alike


def test_filtered_square_averages_the_square_wave(gen):
    """The box-filtered wave is the mean of point samples over [x-e, x+e] (what the cheaper mod 2 must
    keep): checked against 4001 samples."""
    x = torch.rand(200, generator=gen) * 20 - 10
    e = torch.rand(200, generator=gen) * 1.5 + 0.01
    s = x[:, None] + e[:, None] * torch.linspace(-1, 1, 4001)
    wave = 1 - 2 * (torch.floor(s).to(torch.int64) % 2).to(torch.float32)
    assert torch.allclose(filtered_square(x, e), wave.mean(1), atol=2e-3)


@pytest.mark.parametrize("parts_of_first", [3, 300])
def test_object_coverage_is_any_part(parts_of_first, gen):
    """Part coverage → object coverage counts in bytes below 256 parts per object, in int32 above:
    either way an object covers a pixel iff one of its parts does."""
    from types import SimpleNamespace

    from synthdata.render.raycast.backend import RaycastBackend

    owner = torch.tensor([0] + [1] * parts_of_first + [2, 3, 3])  # part → object id + 1
    hit = torch.rand(2, owner.shape[0] - 1, 5, 6, generator=gen) < 0.02
    st = SimpleNamespace(part_owner=owner, offset_R=torch.zeros(1), num_objects=3)
    out = RaycastBackend._object_coverage(st, hit)
    ref = torch.stack([hit[:, owner[1:] == j + 1].any(1) for j in range(3)], 1)
    assert out.dtype == torch.bool and torch.equal(out, ref) and ref.any()


def test_corner_hashes_are_the_lattice_hash_corner_by_corner(gen):
    """The noise's 8 corner hashes, computed with shared products (and int32 conversion, a scale by
    2⁻²⁴), are bit for bit the lattice hash as first written, corner by corner; so is value noise."""
    def first_hash(ix, iy, iz, seed):
        h = ix * 73856093 ^ iy * 19349663 ^ iz * 83492791 ^ seed * 2654435761
        h = (h ^ (h >> 13)) * 1274126177
        h = h ^ (h >> 16)
        return (h & 0xFFFFFF).to(torch.float32) / float(0x1000000)

    i = torch.randint(-2**40, 2**40, (4000, 3), generator=gen)  # large keys wrap in int64 alike
    seed = torch.randint(0, 2**32, (4000,), generator=gen)
    got = corner_hashes(i, seed)
    corners = [(dx, dy, dz) for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)]
    for k, (dx, dy, dz) in enumerate(corners):
        assert torch.equal(got[k], first_hash(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed)), (dx, dy, dz)
    p = (torch.rand(3, 4000, generator=gen) * 40 - 20).t()  # component-major, as hits are
    f = torch.floor(p)
    t = p - f
    t = t * t * (3 - 2 * t)
    j = f.to(torch.int64)
    ref = torch.zeros(4000)
    for dx, dy, dz in corners:
        wx, wy, wz = (t[:, a] if d else 1 - t[:, a] for a, d in enumerate((dx, dy, dz)))
        ref = ref + wx * wy * wz * first_hash(j[:, 0] + dx, j[:, 1] + dy, j[:, 2] + dz, seed)
    assert torch.equal(value_noise(p, seed), ref)

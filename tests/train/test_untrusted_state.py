"""A checkpoint is data: its training state is safetensors + JSON, and a pickle planted in it (the
classic ``__reduce__ -> os.system`` payload) is refused by name and never opened, by the API and
the CLI alike. Real payloads, real files; the control case proves each payload is live."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from synthdata.cli import main
from synthdata.errors import UserError
from synthdata.train import TrainConfig, train_generator
from synthdata.train.state import load_state, save_state

from ..conftest import train_tiny


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def plant_pickle(path: Path, marker: Path) -> Path:
    """A torch.save file whose loading (``weights_only=False``) creates ``marker``; checked live here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": Payload(marker), "step": 1}, path)
    torch.load(path, weights_only=False)  # control: the payload really runs when unpickled
    assert marker.exists()
    marker.unlink()
    return path


def _resume_cli(data: Path, out: Path, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    rc = main(["train-generator", f"data={data}", f"out={out}", "steps=4", "batch=2", "device=cpu", "progress=false",
               "resume=true"])
    return rc, capsys.readouterr().err.strip().splitlines()


def test_pickled_state_is_refused_and_its_payload_never_runs(tiny_dataset, tmp_path, capsys):
    out, marker = tmp_path / "ck", tmp_path / "pwned"
    state_pt = plant_pickle(out / "training" / "state.pt", marker)
    rc, lines = _resume_cli(tiny_dataset, out, capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: resume: {state_pt} is a pickle") and "state.safetensors" in lines[0]
    assert not marker.exists()
    with pytest.raises(UserError) as exc:
        train_generator(TrainConfig(data=str(tiny_dataset), out=str(out), device="cpu", progress=False, resume=True))
    assert exc.value.field == "resume" and str(state_pt) in exc.value.message
    assert not marker.exists() and sorted(p.name for p in out.rglob("*")) == ["state.pt", "training"]


def test_a_pickle_planted_beside_a_real_state_is_never_opened(tiny_dataset, tmp_path, capsys):
    out, marker = train_tiny(tiny_dataset, tmp_path / "ck", steps=2), tmp_path / "pwned"
    plant_pickle(out / "training" / "state.pt", marker)
    for name in ("model.bin", "vae.ckpt"):
        plant_pickle(out / "training" / name, marker)
    rc, lines = _resume_cli(tiny_dataset, out, capsys)
    assert rc == 0, lines
    assert load_state(out / "training" / "state.safetensors")["step"] == 4 and not marker.exists()


def test_a_crafted_state_file_is_one_line_not_a_traceback(tiny_dataset, tmp_path, capsys):
    real = train_tiny(tiny_dataset, tmp_path / "real", steps=1)
    state = load_state(real / "training" / "state.safetensors")
    cases = {
        "garbage": lambda p: p.write_bytes(b"\x00" * 64),
        "foreign": lambda p: save_file({"x": torch.zeros(2)}, str(p)),  # safetensors, not ours
        "mistyped": lambda p: save_state(p, {**state, "step": "4", "class_names": 3}),
        "wrong-shapes": lambda p: save_state(p, {**state, "model": {k: torch.zeros(1) for k in state["model"]}}),
        # found by a security review: a string lr loaded and failed at the first step (a traceback); a
        # negative or astronomical step was taken as given
        "string-lr": lambda p: save_state(p, {**state, "opt": {**state["opt"], "param_groups": [
            {**g, "lr": "x"} for g in state["opt"]["param_groups"]]}}),
        "odd-betas": lambda p: save_state(p, {**state, "opt": {**state["opt"], "param_groups": [
            {**g, "betas": (0.9, 7)} for g in state["opt"]["param_groups"]]}}),
        "negative-step": lambda p: save_state(p, {**state, "step": -5}),
        "huge-step": lambda p: save_state(p, {**state, "step": 10**30}),
    }
    for name, write in cases.items():
        out = tmp_path / name
        shutil.copytree(real, out)
        write(out / "training" / "state.safetensors")
        rc, lines = _resume_cli(tiny_dataset, out, capsys)
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: resume: "), (name, lines)


def test_state_round_trips_nested_optimizer_state_exactly(tmp_path):
    """Int-keyed dicts, tuples, scalars, None, 0-d and shared tensors survive; AdamW resumes bit-exactly."""
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    shared = torch.arange(6.0)
    gen = torch.Generator().manual_seed(3)
    state = {"opt": opt.state_dict(), "rng": gen.get_state(), "misc": {"a": (1, 2.5, None, True), 7: [shared, shared]},
             "log": [[1, float("nan")], [2, 0.25]]}
    save_state(tmp_path / "s.safetensors", state)
    back = load_state(tmp_path / "s.safetensors")
    assert back["misc"]["a"] == (1, 2.5, None, True) and torch.equal(back["misc"][7][1], shared)
    assert back["log"][1] == [2, 0.25] and back["log"][0][1] != back["log"][0][1]  # NaN kept
    assert torch.equal(back["rng"], gen.get_state())
    ref = torch.optim.AdamW(net.parameters(), lr=1e-2)
    ref.load_state_dict(state["opt"])
    again = torch.optim.AdamW(net.parameters(), lr=1e-2)
    again.load_state_dict(back["opt"])
    assert again.state_dict()["param_groups"] == ref.state_dict()["param_groups"]
    for k, v in ref.state_dict()["state"].items():
        assert all(torch.equal(v[n], again.state_dict()["state"][k][n]) for n in v)

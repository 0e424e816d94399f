"""Model folders are data: a generator checkpoint or VAE whose weights are a pickle (``*.bin``, ``*.pt``
…) is refused by name before anything is loaded, and the payload in it never runs; configs must be
JSON objects with the fields sampling reads. Real folders saved by the tiny fixtures."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import synthdata
from synthdata.errors import RecipeError, UserError
from synthdata.render.diffusion.model.checkpoint import load_generator, load_vae, read_config
from synthdata.train import TrainConfig, train_generator

from ..conftest import TINY, run_cli
from ..train.test_untrusted_state import plant_pickle


def _swap_for_pickle(folder, marker):
    """Remove the folder's safetensors weights and plant a live pickle payload in their place."""
    for f in folder.glob("*.safetensors"):
        f.unlink()
    return plant_pickle(folder / "diffusion_pytorch_model.bin", marker)


def test_checkpoint_with_pickle_weights_is_refused_before_loading(tiny_checkpoint, tmp_path):
    ck, marker = tmp_path / "ck", tmp_path / "pwned"
    shutil.copytree(tiny_checkpoint, ck)
    planted = _swap_for_pickle(ck / "model", marker)
    with pytest.raises(RecipeError) as exc:
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}"])
    assert exc.value.lines() == [f"backend.checkpoint: {planted} is a pickle-format weight file, which synthdata "
                                 "never loads (unpickling can run code); expected .safetensors weights (save with "
                                 "save_pretrained, safe_serialization=True)"]
    with pytest.raises(UserError, match="diffusion_pytorch_model.bin is a pickle-format weight file"):
        load_generator(ck, torch.device("cpu"))  # the loader refuses too (workers build backends from specs)
    out = tmp_path / "out"
    r = run_cli("generate", "clips=1", f"out={out}", *TINY, "backend=diffusion", f"backend.checkpoint={ck}")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and str(planted) in lines[0], r.stderr
    assert not out.exists() and not marker.exists()


def test_a_pickle_beside_safetensors_weights_is_refused_too(tiny_checkpoint, tmp_path):
    ck, marker = tmp_path / "ck", tmp_path / "pwned"
    shutil.copytree(tiny_checkpoint, ck)
    plant_pickle(ck / "model" / "extra" / "optimizer.pt", marker)
    with pytest.raises(UserError, match=r"model/extra/optimizer.pt is a pickle-format weight file"):
        read_config(ck)
    assert not marker.exists()


def _tiny_vae(path):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4,
                  layers_per_block=1).save_pretrained(path)
    return path


def test_vae_with_pickle_weights_is_refused_and_nothing_is_written(tiny_dataset, tmp_path):
    vae, marker = _tiny_vae(tmp_path / "vae"), tmp_path / "pwned"
    assert load_vae(vae, "vae").config.latent_channels == 4  # the real folder loads
    planted = _swap_for_pickle(vae, marker)
    out = tmp_path / "ck"
    with pytest.raises(UserError) as exc:
        train_generator(TrainConfig(data=str(tiny_dataset), out=str(out), vae=str(vae), device="cpu", progress=False))
    assert exc.value.field == "vae" and exc.value.message.startswith(f"{planted} is a pickle-format weight file")
    with pytest.raises(UserError, match="is a pickle-format weight file"):
        load_vae(vae, "vae")
    assert not out.exists() and not marker.exists()


@pytest.mark.parametrize("body, expected", [
    ("[1, 2]", "holds a JSON list; expected an object"),
    ('{"_class_name": "LayoutVideoModel"}', "class_names must be list, got None"),
    ("NaN-free nonsense", "is not valid JSON"),
])
def test_configs_are_json_objects_with_typed_fields(tiny_checkpoint, tmp_path, body, expected):
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    (ck / "model" / "config.json").write_text(body)
    with pytest.raises(RecipeError, match=expected):
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}"])


def test_typed_fields_are_checked_one_line(tiny_checkpoint, tmp_path):
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    cfg = json.loads((ck / "model" / "config.json").read_text())
    (ck / "model" / "config.json").write_text(json.dumps({**cfg, "frames": "4"}))
    with pytest.raises(UserError, match=r"backend.checkpoint: .*config.json: frames must be int, got '4'"):
        read_config(ck)


def _edit_config(ck, edit) -> None:
    path = ck / "model" / "config.json"
    body = json.loads(path.read_text())
    edit(body)
    path.write_text(json.dumps(body))


@pytest.mark.parametrize("edit,expected", [
    (lambda b: b["unet_config"].update(block_out_channels=[8, 16]), r"the weights do not match config\.json \("),
    (lambda b: b["unet_config"].update(norm_num_groups=3), r"norm_num_groups 3 must divide every block_out_channels"),
    (lambda b: b["unet_config"].update(down_block_types=["Evil", "X"]), r"unet_config\.down_block_types must be 2 of"),
    (lambda b: b["unet_config"].update(zzz=1), r"unet_config has unknown key\(s\) \['zzz'\]"),
    (lambda b: b["unet_config"].update(layers_per_block=3000), r"unet_config\.layers_per_block must be an integer in \[1, 8\]"),
    (lambda b: b["unet_config"].update(layers_per_block=-1), r"unet_config\.layers_per_block must be an integer"),
    (lambda b: b.update(latent_channels=-1), r"latent_channels must be an integer in \[1, 64\]"),
    (lambda b: b.update(context_tokens=-5), r"context_tokens must be an integer in \[1, 1024\]"),
    (lambda b: b.update(latent_scale=0), r"latent_scale must be an integer in \[1, 64\]"),
    (lambda b: b.update(latent_scale=3), r"latent_scale must be a power of 2"),
])
def test_a_crafted_model_config_is_one_line_before_anything_is_written(tiny_checkpoint, tmp_path, edit, expected):
    """Found by a security review: these passed the pre-flight check, then each shard failed (exit 1, a
    half-made dataset, 448 lines or a traceback), and ``layers_per_block: 3000`` built a model until the
    memory ran out. Every field is bounded and the weights' names and shapes are compared with what
    the config builds (on the meta device) before the run starts (the recipe check: the CLI below)."""
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    _edit_config(ck, edit)
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}"])
    lines = info.value.lines()
    assert len(lines) == 1 and lines[0].startswith("backend.checkpoint: ") and re_search(expected, lines[0]), lines


def test_a_crafted_model_config_stops_the_cli_before_it_writes(tiny_checkpoint, tmp_path):
    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    _edit_config(ck, lambda b: b["unet_config"].update(layers_per_block=3000))
    out = tmp_path / "out"
    r = run_cli("generate", "clips=1", f"out={out}", *TINY, "compute=sync", "backend=diffusion",
                f"backend.checkpoint={ck}")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: backend.checkpoint: ") and "layers_per_block must be an integer" in lines[0]
    assert not out.exists()


def re_search(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text) is not None


def test_pickle_bytes_under_a_safetensors_name_are_refused_unread(tiny_checkpoint, tmp_path):
    ck, marker = tmp_path / "ck", tmp_path / "pwned"
    shutil.copytree(tiny_checkpoint, ck)
    weights = ck / "model" / "diffusion_pytorch_model.safetensors"
    plant_pickle(tmp_path / "p.bin", marker)
    shutil.copyfile(tmp_path / "p.bin", weights)
    with pytest.raises(RecipeError, match=r"diffusion_pytorch_model\.safetensors is not a readable safetensors file"):
        synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}"])
    assert not marker.exists()


def test_the_real_checkpoint_passes_the_check(tiny_checkpoint):
    from synthdata.render.diffusion.model.checkpoint import check_checkpoint

    assert check_checkpoint(tiny_checkpoint)["_class_name"] == "LayoutVideoModel"

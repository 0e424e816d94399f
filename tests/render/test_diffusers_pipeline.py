"""backend=diffusers_pipeline with a tiny AnimateDiff + ControlNet pipeline built here from random
components, saved with save_pretrained and loaded back by the backend with from_pretrained."""

from __future__ import annotations

import json

import pytest
import torch

from synthdata.errors import RecipeError
from synthdata.render import make_backend

from ..conftest import make_tiny_clip, tiny_spec
from .test_backend_contract import BackendContract


def tiny_animatediff_controlnet(path) -> None:
    """diffusers' get_dummy_components idea: every part a few thousand parameters, no tokenizer."""
    from diffusers import (AnimateDiffControlNetPipeline, AutoencoderKL, ControlNetModel, DDIMScheduler,
                           MotionAdapter, UNet2DConditionModel)

    torch.manual_seed(0)
    blocks = dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=2)
    attn = dict(cross_attention_dim=8, attention_head_dim=4)
    unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, **blocks, **attn,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    controlnet = ControlNetModel(in_channels=4, conditioning_embedding_out_channels=(8, 16), **blocks, **attn,
                                 down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"))
    with torch.no_grad():  # ControlNet's zero convolutions would make the control a no-op; wake them up
        for p in [*controlnet.controlnet_down_blocks.parameters(), *controlnet.controlnet_mid_block.parameters(),
                  *controlnet.controlnet_cond_embedding.conv_out.parameters()]:
            p.normal_(0, 1.0)
    motion = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2,
                           motion_num_attention_heads=2, conv_in_channels=None, motion_max_seq_length=32)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2, **blocks)
    pipe = AnimateDiffControlNetPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet, motion_adapter=motion,
                                         controlnet=controlnet,
                                         scheduler=DDIMScheduler(beta_schedule="linear", clip_sample=False))
    pipe.save_pretrained(str(path))


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "animatediff-controlnet"
    tiny_animatediff_controlnet(path)
    return path


class TestDiffusersPipelineContract(BackendContract):
    backend_name = "diffusers_pipeline"

    @pytest.fixture(scope="class")
    @classmethod
    def backend_overrides(cls, tiny_pipeline):
        return [f"backend.path={tiny_pipeline}", "backend.steps=2"]


def _rgb(tiny_pipeline, *overrides):
    spec = tiny_spec("shapes", "backend=diffusers_pipeline", f"backend.path={tiny_pipeline}", "backend.steps=2",
                     *overrides)
    return make_tiny_clip(spec, seed=2).frames.rgb


def test_the_control_frames_steer_the_pipeline(tiny_pipeline):
    depth = _rgb(tiny_pipeline, "backend.control=depth")
    assert torch.equal(depth, _rgb(tiny_pipeline, "backend.control=depth"))
    assert (depth.float() - _rgb(tiny_pipeline, "backend.control=semantic").float()).abs().mean() > 0.5


def test_loads_through_from_pretrained_with_absent_components(tiny_pipeline):
    spec = tiny_spec("shapes", "backend=diffusers_pipeline", f"backend.path={tiny_pipeline}")
    backend = make_backend(spec.backend, "cpu")
    assert type(backend.pipe).__name__ == "AnimateDiffControlNetPipeline"
    assert backend.pipe.tokenizer is None and backend.pipe.text_encoder is None
    assert type(backend.pipe.unet).__name__ == "UNetMotionModel"


def _problems(*overrides: str) -> str:
    with pytest.raises(RecipeError) as exc:
        tiny_spec("shapes", "backend=diffusers_pipeline", *overrides)
    return str(exc.value)


def test_bad_pipelines_are_refused_before_loading(tiny_pipeline, tmp_path):
    assert "backend.path: required" in _problems()
    assert "no model_index.json" in _problems(f"backend.path={tmp_path}")
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline", "unet": ["diffusers", "x"]}))
    assert "DDPMPipeline takes no ControlNet control frames" in _problems(f"backend.path={tmp_path}")
    p = f"backend.path={tiny_pipeline}"
    assert "backend.prompt: this pipeline has no tokenizer" in _problems(p, "backend.prompt=a road at dusk")
    assert "clip.width: 36 is not a multiple of 8" in _problems(p, "clip.width=36")


def test_pipeline_with_pickle_weights_is_refused_and_its_payload_never_runs(tiny_pipeline, tmp_path):
    """A real pipeline folder whose UNet weights were swapped for a pickle (``diffusion_pytorch_model.bin``
    with a live ``__reduce__`` payload): refused by name in the recipe check and by the loader."""
    import shutil

    from synthdata.errors import UserError
    from synthdata.render.diffusion.backends.pipeline import DiffusersPipelineBackend, PipelineSettings

    from ..train.test_untrusted_state import plant_pickle

    pipe, marker = tmp_path / "pipe", tmp_path / "pwned"
    shutil.copytree(tiny_pipeline, pipe)
    (pipe / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    planted = plant_pickle(pipe / "unet" / "diffusion_pytorch_model.bin", marker)
    lines = _problems(f"backend.path={pipe}").splitlines()
    assert lines == [f"backend.path: {planted} is a pickle-format weight file, which synthdata never loads "
                     "(unpickling can run code); expected .safetensors weights (save with save_pretrained, "
                     "safe_serialization=True)"]
    with pytest.raises(UserError, match="diffusion_pytorch_model.bin is a pickle-format weight file"):
        DiffusersPipelineBackend(PipelineSettings(path=str(pipe)), "cpu")
    assert not marker.exists()


def test_pipeline_components_come_from_diffusers_or_transformers_only(tiny_pipeline, tmp_path):
    """diffusers imports the library a component names: any other module name would run its code."""
    import shutil

    pipe = tmp_path / "pipe"
    shutil.copytree(tiny_pipeline, pipe)
    index = json.loads((pipe / "model_index.json").read_text())
    (pipe / "model_index.json").write_text(json.dumps({**index, "scheduler": ["antigravity", "DDIMScheduler"]}))
    line = (f"backend.path: {pipe}/model_index.json: component 'scheduler' is ['antigravity', 'DDIMScheduler']; "
            "expected [library, class] from diffusers or transformers, or [null, null]")
    assert line in _problems(f"backend.path={pipe}")
    (pipe / "model_index.json").write_text(json.dumps({**index, "_class_name": ["pipeline", "Custom"]}))
    assert "pipeline class ['pipeline', 'Custom'] is not in this diffusers" in _problems(f"backend.path={pipe}")

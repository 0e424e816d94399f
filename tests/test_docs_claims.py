"""Claims the docs make about the code, checked (found by a docs-vs-behaviour review, 2026-12-06)."""

from __future__ import annotations

import re

import pytest

from .conftest import REPO


def test_the_documented_schema_command_prints_the_committed_schema():
    import subprocess
    import sys

    text = (REPO / "docs" / "recipes.md").read_text()
    module = re.search(r"python -m ([\w.]+) > schemas/recipe\.schema\.json", text).group(1)
    out = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out and out == (REPO / "schemas" / "recipe.schema.json").read_text()


def test_classify_task_is_importable_where_the_tasks_page_says():
    from synthdata.tasks import ClassifyTask, Task

    assert issubclass(ClassifyTask, Task)


def _count(note: str) -> float:
    value, unit = re.match(r"~([\d.]+)([kM])", note).groups()
    return float(value) * {"k": 1e3, "M": 1e6}[unit]


@pytest.mark.parametrize("preset", ["tiny", "small", "base"])
def test_model_presets_have_the_parameters_they_say(preset):
    """The base preset said ~57M; it has 70M (3 classes)."""
    from synthdata.render.diffusion.model.presets import MODEL_PRESETS, unet_config
    from synthdata.render.diffusion.model.unet import LayoutVideoModel

    p = MODEL_PRESETS.get(preset)
    model = LayoutVideoModel(class_names=["a", "b", "c"], unet_config=unet_config(p), preset=preset)
    n = sum(t.numel() for t in model.parameters())
    assert abs(n - _count(p.notes)) < 0.1 * n, (n, p.notes)
    row = re.search(rf"\| `{preset}` \|[^|]*\| (~[\d.]+[kM]) \|", (REPO / "docs" / "generator.md").read_text()).group(1)
    assert abs(n - _count(row)) < 0.1 * n, (n, row)

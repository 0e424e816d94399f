"""Downstream tasks: metrics exact on known cases, learning happens, same seed → same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import synthdata
from synthdata.errors import UserError
from synthdata.integrations.torch_dataset import ClipDataset
from synthdata.tasks import TASKS, Task, evaluate_task, train_task
from synthdata.tasks.classify import clip_label
from synthdata.tasks.detect import coco_map
from synthdata.tasks.segment import confusion, miou

from ..conftest import SYNC2, TINY


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tasks") / "shapes"
    synthdata.generate("shapes", clips=6, out=out, overrides=[*TINY, "seed=4"], compute=SYNC2, progress=False)
    return out


def _train(name: str, path: Path, steps: int, seed: int = 0, lr: float = 3e-3):
    task = TASKS.get(name)()
    ds = ClipDataset(synthdata.open_dataset(path), maps=task.maps_needed)
    torch.manual_seed(seed)
    model = task.build(len(ds.ds.class_names), "tiny")
    order = torch.Generator().manual_seed(seed)
    plan = torch.randint(0, len(ds), (steps, 2), generator=order)
    curve = train_task(task, model, lambda s: [ds[int(i)] for i in plan[s]], steps, lr, torch.device("cpu"))
    return task, model, ds, curve


def test_miou_and_map_are_exact_on_known_cases():
    gt = np.array([[0, 1], [2, 2]])
    assert miou(confusion(gt, gt, 3))[0] == 1.0
    half = np.array([[0, 1], [2, 0]])  # class 2: 1 of 2 pixels, background gains one wrong pixel
    m, iou = miou(confusion(half, gt, 3))
    assert iou.tolist() == [0.5, 1.0, 0.5] and m == pytest.approx(2 / 3)
    boxes = [(0, 1, [0.0, 0.0, 10.0, 10.0]), (1, 2, [5.0, 5.0, 20.0, 30.0])]
    perfect, per_class = coco_map(boxes, [(i, c, b, 0.9) for i, c, b in boxes], 2, 2)
    assert perfect == pytest.approx({"mAP": 1.0, "AP50": 1.0}) and per_class == pytest.approx([1.0, 1.0])
    assert coco_map(boxes, [], 2, 2)[0] == {"mAP": 0.0, "AP50": 0.0}
    wrong_class = coco_map(boxes, [(0, 2, boxes[0][2], 0.9), (1, 1, boxes[1][2], 0.9)], 2, 2)[0]
    assert wrong_class["mAP"] == 0.0


def test_clip_label_is_the_largest_visible_class():
    labels = {"boxes": torch.tensor([[0, 0, 2, 2], [0, 0, 4, 4], [0, 0, 3, 3]], dtype=torch.float32),
              "class_id": torch.tensor([1, 2, 1])}
    assert clip_label(labels) == 2  # 16 px of class 2 vs 4 + 9 of class 1


@pytest.mark.parametrize("name,steps", [("segment", 40), ("detect", 60), ("classify", 120)])
def test_each_task_learns(shapes, name, steps):
    """The loss falls and the metric on the training clips beats the untrained model's (a classifier
    memorises its six clips: labels 2, 2, 1, 2, 2, 3, so the majority guess is not enough)."""
    task, model, ds, curve = _train(name, shapes, steps)
    assert np.mean([l for _, l in curve[-10:]]) < 0.8 * np.mean([l for _, l in curve[:10]])
    trained = evaluate_task(task, model, ds, torch.device("cpu"))
    torch.manual_seed(0)
    untrained = evaluate_task(task, task.build(len(ds.ds.class_names), "tiny"), ds, torch.device("cpu"))
    assert trained.value > untrained.value, (trained.summary, untrained.summary)
    assert trained.per_clip.shape == (len(ds),) and trained.primary == task.primary
    assert str(trained.predictions["kind"]) == name


def test_same_seed_same_loss_curve(shapes):
    a = _train("segment", shapes, 5, seed=3)[3]
    b = _train("segment", shapes, 5, seed=3)[3]
    c = _train("segment", shapes, 5, seed=4)[3]
    assert a == b and a != c


def test_unknown_task_and_size_are_refused():
    with pytest.raises(UserError, match="task.name: unknown task 'segmnt' \\(did you mean 'segment'\\?\\)"):
        TASKS.get("segmnt", "task.name")
    with pytest.raises(UserError, match="task.size: task 'segment' has sizes tiny, small, not 'huge'"):
        TASKS.get("segment")().size("huge")
    assert TASKS.entry_point_group == "synthdata.tasks"


def test_a_team_task_registers_by_name():
    class Constant(Task):
        name, primary = "constant", "score"

        def build(self, num_classes, size):
            return torch.nn.Linear(1, 1)

        def loss(self, model, videos, labels):
            return model.weight.sum() * 0

        def predict(self, model, videos):
            return [{} for _ in videos]

        def score(self, predictions, labels, class_names):
            from synthdata.tasks import TaskScores

            return TaskScores("score", {"score": 1.0}, {}, np.ones(len(labels)))

    TASKS.register("constant", Constant)
    try:
        assert "constant" in TASKS.names() and TASKS.get("constant") is Constant
    finally:
        TASKS._items.pop("constant")

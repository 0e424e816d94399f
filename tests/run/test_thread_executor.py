"""``compute=threads`` (the Python API's default): on the CPU each shard thread gets
``compute.threads_per_worker`` torch threads (not an OpenMP team on every core per shard), and the
caller's torch setting is back when the run ends."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch

import synthdata
from synthdata.annotate import LABEL_KINDS, LabelKind

from ..conftest import TINY

SEEN: list[int] = []


def _record_threads(frames, scene, traj):
    SEEN.append(torch.get_num_threads())  # in the shard's thread, while it labels a clip
    return np.zeros(frames.num_frames * len(scene.objects), np.float32)


def test_shard_threads_get_threads_per_worker_and_the_caller_keeps_its_own(tmp_path):
    LABEL_KINDS.register("threads_test_kind", LabelKind(name="threads_test_kind", table="objects", context=0,
                                                        reads=frozenset(), arrow_type=pa.float32(),
                                                        compute=_record_threads))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        SEEN.clear()
        synthdata.generate("shapes", clips=4, out=tmp_path / "a", progress=False,
                           overrides=[*TINY, "+annotations.threads_test_kind=true"],
                           compute={"name": "threads", "workers": 2, "shard_size": 1})
        assert SEEN == [1, 1, 1, 1]  # threads_per_worker (default 1) in every shard thread
        assert torch.get_num_threads() == 2  # the caller's own, restored
        SEEN.clear()
        synthdata.generate("shapes", clips=2, out=tmp_path / "b", progress=False,
                           overrides=[*TINY, "+annotations.threads_test_kind=true"],
                           compute={"name": "threads", "workers": 1, "shard_size": 1})
        assert SEEN == [2, 2] and torch.get_num_threads() == 2  # one shard thread: the caller's setting
    finally:
        torch.set_num_threads(before)
        LABEL_KINDS._items.pop("threads_test_kind")

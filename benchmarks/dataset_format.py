"""Format 2 against format 1 on one shard: bytes of the frames table, and the time to read one clip's
maps (format 2 reads the clip's row group; format 1 read the whole shard and filtered). Prints one
JSON line.

    python benchmarks/dataset_format.py --clips 16 --size 256 --frames 24 --out benchmarks/results/dataset_format.json

Format 1's frames table is rebuilt here from the same maps with its encoder
(:func:`synthdata.io.encoding.encode_array`: zstd of byte-shuffled float16 flow / float32 depth).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.io.encoding import ENCODED_TYPE, encode_array  # noqa: E402
from synthdata.io.reader import read_part  # noqa: E402

MAPS = {"depth": "float32", "flow_fwd": "float16", "flow_bwd": "float16", "semantic": "uint16", "instance": "uint16"}


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--recipe", default="shapes")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        synthdata.generate(a.recipe, clips=a.clips, out=out, progress=False,
                           overrides=[f"clip.width={a.size}", f"clip.height={a.size}", f"clip.frames={a.frames}", "device=cpu"],
                           compute={"name": "sync", "shard_size": a.clips})
        ds = synthdata.open_dataset(out)
        part2 = out / "frames" / "part-00000.parquet"
        t2 = pq.read_table(part2)
        clip = ds.clip(a.clips // 2)
        H, W = clip.row["height"], clip.row["width"]
        # the same maps in format 1's encoding, written the way format 1 wrote them
        cols = {}
        for name, dtype in MAPS.items():
            cells = [encode_array(clip_map.reshape(H, W, -1).squeeze(-1) if clip_map.size == H * W else clip_map.reshape(H, W, -1), dtype)
                     for clip_map in (v.values.to_numpy(zero_copy_only=False) for v in t2.column(name))]
            cols[name] = pa.array(cells, ENCODED_TYPE)
        t1 = t2.drop_columns(list(MAPS))
        for name, col in cols.items():
            t1 = t1.append_column(name, col)
        part1 = Path(tmp) / "format1.parquet"
        pq.write_table(t1, part1, compression="none", use_dictionary=["clip_id"],
                       write_statistics=["clip_id", "frame_index", "timestamp"])

        def read_v1():
            t = pq.read_table(part1)
            t.filter(pc.equal(t["clip_id"], clip.clip_id))

        def read_v2():
            read_part(ds.layout, part2, "frames", clip.clip_id)

        result = {
            "benchmark": "dataset_format", "recipe": a.recipe, "clips_in_shard": a.clips, "size": a.size,
            "frames": a.frames,
            "frames_table_bytes": {"format1": part1.stat().st_size, "format2": part2.stat().st_size},
            "read_one_clip_s": {"format1_whole_shard_then_filter": round(_best(read_v1), 4),
                                "format2_clip_row_group": round(_best(read_v2), 4)},
            "machine": machine(),
        }
    line = json.dumps(result)
    print(line)
    if a.out:
        a.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Regenerate the pictures in docs/images from real generated clips (python docs/make_images.py [recipe …])."""

from __future__ import annotations

import tempfile
from pathlib import Path

import synthdata
from synthdata.io.card import contact_sheet

HERE = Path(__file__).parent / "images"

RUNS = {
    "shapes": ["clip.width=256", "clip.height=256"],
    "highway": ["clip.width=320", "clip.height=192"],
    "colonoscopy": ["clip.width=256", "clip.height=256"],
    "polyp_detection": ["clip.width=256", "clip.height=256"],
    "surgery_tools": ["clip.width=256", "clip.height=256"],
    "night_rain": ["clip.width=320", "clip.height=192"],
    "urban": ["clip.width=320", "clip.height=192"],
    "snow": ["clip.width=320", "clip.height=192"],
}


def main(names: list[str]) -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, ov in RUNS.items():
            if names and name not in names:
                continue
            out = Path(tmp) / name
            synthdata.generate(name, clips=1, out=out, overrides=[*ov, "device=cpu", "seed=1"], progress=False)
            ds = synthdata.open_dataset(out)
            sheet = contact_sheet(out, ds.clips.to_pylist(), frames_per_clip=4, scale=1)
            sheet.save(HERE / f"{name}.png", optimize=True)
            print(HERE / f"{name}.png", sheet.size)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])  # names of the recipes to redo (default: all)

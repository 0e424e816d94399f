"""The built wheel ships the recipe tree and schemas, and loads a recipe when installed elsewhere."""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path
import venv
import zipfile

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-w", str(dist), "-q"], check=True)
    return next(dist.glob("synthdata-*.whl"))


def test_wheel_contains_recipes_and_schemas(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for n in ("synthdata/_recipes/config.yaml", "synthdata/_recipes/recipe/shapes.yaml",
              "synthdata/_recipes/recipe/highway.yaml", "synthdata/_recipes/recipe/colonoscopy.yaml",
              "synthdata/_recipes/backend/raycast.yaml", "synthdata/_schemas/recipe.schema.json", "synthdata/py.typed"):
        assert n in names, n


def test_installed_wheel_loads_a_recipe_in_a_clean_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    # dependencies come from this environment's site-packages (appended after the venv's own, and
    # without running its .pth files, so an editable synthdata there stays invisible)
    site_dir = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    (Path(site_dir) / "zz_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    code = (
        "import synthdata, sys\n"
        "from synthdata.recipe import config_dir\n"
        "assert sys.prefix in synthdata.__file__, synthdata.__file__\n"
        "assert sys.prefix in str(config_dir()), config_dir()\n"
        "spec = synthdata.load_recipe('colonoscopy', ['clip.frames=4'])\n"
        "print(spec.name, spec.clip.frames, len(synthdata.list_recipes()))\n"
    )
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shipped = len(list((REPO / "recipes" / "recipe").glob("*.yaml")))  # every recipe of the repo is in the wheel
    assert r.stdout.split() == ["colonoscopy", "4", str(shipped)]


def test_one_opencv_release_in_the_shared_cv2_folder():
    """trackeval (dev) needs opencv-python and FiftyOne opencv-python-headless<5; both unpack into the same
    ``cv2`` folder, so two releases leave it a mix of both (a 5.x GUI build over FiftyOne's 4.x files)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        gui, headless = version("opencv-python"), version("opencv-python-headless")
    except PackageNotFoundError:
        pytest.skip("only one OpenCV distribution is installed")
    import cv2

    assert gui == headless and cv2.__version__ == ".".join(gui.split(".")[:3])

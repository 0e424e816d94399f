"""The command line as a user runs it (subprocess): happy path and every bad-input path."""

from __future__ import annotations

import json

import pytest

from .conftest import TINY, run_cli


def test_generate_info_validate_recipes(tmp_path):
    out = tmp_path / "ds"
    r = run_cli("generate", "recipe=shapes", "clips=2", f"out={out}", *TINY, "progress=false", "compute.workers=2",
                "compute.shard_size=1")
    assert r.returncode == 0, r.stderr
    assert "wrote 2 clips" in r.stdout
    info = run_cli("info", str(out), "--json")
    assert info.returncode == 0 and json.loads(info.stdout)["clips"] == 2
    import synthdata

    objs, got = synthdata.open_dataset(out).objects.to_pandas(), json.loads(info.stdout)
    assert got["visible_object_rows"] == int((objs.visible_pixels > 0).sum())  # visible, not merely in view
    assert got["in_view_object_rows"] == int(objs.in_view.sum())
    text = run_cli("info", str(out))
    assert "objects_per_class" in text.stdout
    assert run_cli("validate", "highway").stdout.strip() == "ok"
    listed = run_cli("recipes").stdout
    assert all(n in listed for n in ("shapes", "highway", "colonoscopy"))
    again = run_cli("generate", "recipe=shapes", "clips=2", f"out={out}", *TINY, "progress=false",
                    "compute=sync", "compute.shard_size=1")
    assert again.returncode == 0 and "already there" in again.stdout


def test_user_recipe_file_and_dry_run(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("defaults:\n  - recipe: highway\n  - _self_\nname: my_highway\n")
    out = tmp_path / "plan"
    r = run_cli("generate", f"recipe={recipe}", "clips=10", f"out={out}", *TINY, "--dry-run", "compute.shard_size=8")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["recipe"] == "my_highway" and plan["clips"] == 10 and plan["shards"] == 2
    assert plan["estimated_bytes"] > 0 and not out.exists()


@pytest.mark.parametrize("args, field", [
    (["recipe=shapez"], "recipe"),
    (["clip.width=-8"], "clip.width"),
    (["clip.nope=1"], "clip.nope"),
    (["clip.frames=many"], "clip.frames"),
    (["clip.frames=100000"], "clip.frames"),
    (["objects.0.count=100000"], "objects.0.count"),
    (["objects.0.motion.name=teleport"], "objects.0.motion.name"),
    (["environment.ground.texture=plaid"], "environment.ground.texture"),
    (["+_target_=os.system"], "_target_"),
    (["backend.name=blender"], "backend.name"),
    (["clips=zero"], "clips"),
    (["clips=0"], "clips"),
    (["recipe=../../../etc/passwd"], "recipe"),
    (["device=quantum"], "device"),
    (["justaword"], "justaword"),
    (["progress=maybe"], "progress"),
    (["compute=cloud"], "compute"),
    (["compute.workers=-2"], "compute.workers"),
    (["compute.shard_size=0"], "compute.shard_size"),
    (["compute.retries=lots"], "compute.retries"),
    (["compute.address=localhost:8786"], "compute.address"),
    (["compute.turbo=1"], "compute.turbo"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, field):
    out = tmp_path / "never"
    base = {"recipe": "recipe=shapes", "clips": "clips=1", "out": f"out={out}"}
    for a in args:
        base.pop(a.split("=")[0], None)
    r = run_cli("generate", *base.values(), *TINY, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_used_out_is_refused_with_one_line(tmp_path):
    out = tmp_path / "ds"
    assert run_cli("generate", "recipe=shapes", "clips=1", f"out={out}", *TINY, "compute=sync").returncode == 0
    r = run_cli("generate", "recipe=shapes", "clips=1", f"out={out}", *TINY, "seed=4", "compute=sync")
    assert r.returncode == 2 and r.stderr.startswith("error: out:") and len(r.stderr.strip().splitlines()) == 1
    assert run_cli("generate", "recipe=shapes", "clips=1", f"out={out}", *TINY, "seed=4", "--overwrite",
                   "compute=sync").returncode == 0


def test_validate_and_info_errors(tmp_path):
    r = run_cli("validate", "shapes", "clip.fps=-1", "clip.width=7")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 2  # one line per problem
    r = run_cli("info", str(tmp_path))
    assert r.returncode == 2 and "not a synthdata dataset" in r.stderr


def test_an_out_that_cannot_be_created_is_one_line(tmp_path):
    """mkdir refused where the permission bits say yes (procfs refuses even root): one line naming
    ``out``, exit 2, no traceback; the synthdata run creates nothing."""
    r = run_cli("generate", "recipe=shapes", "clips=1", "out=/proc/synthdata-no/ds", *TINY, "compute=sync")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: out: cannot create /proc/synthdata-no") and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("arg,field", [("compute.window_pixels=0", "compute.window_pixels"),
                                       ("compute.workerz=3", "compute"), ("clips=-1", "clips"),
                                       ("compute=foo", "compute"), ("progress=maybe", "progress"),
                                       ("out=", "out")])
def test_validate_checks_the_run_arguments_generate_checks(arg, field):
    """``validate`` says ok only to what ``generate`` accepts: its run arguments too (one line, exit 2)."""
    for cmd in (["validate", "shapes"], ["generate", "recipe=shapes", "--dry-run"]):
        r = run_cli(*cmd, arg)
        assert r.returncode == 2 and r.stderr.startswith(f"error: {field}"), (cmd, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_validate_takes_the_recipe_as_generate_does():
    """Found by a new-user review: `validate recipe=x` (generate's spelling) said "file not found"."""
    r = run_cli("validate", "recipe=shapes", "clip.frames=4")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_validate_without_a_recipe_names_only_the_recipe():
    r = run_cli("validate")
    assert r.returncode == 2 and r.stderr.rstrip().endswith("the following arguments are required: recipe"), r.stderr


@pytest.mark.parametrize("arg,line", [
    ("clip.widht=3", "error: clip.widht: unknown field (did you mean 'width'?)"),
    ("objects.0.materal.color=[1,1,1]", "error: objects.0.materal: unknown field (did you mean 'material'?)"),
    ("compute.workerz=3", "error: compute.workerz: unknown field (did you mean 'workers'?)"),
    ("clip.zzzzzz=3", "error: clip.zzzzzz: unknown field"),
    # found by a new-user review: run arguments were never suggested ('clps' got 'clip', 'comptue' nothing)
    ("comptue.workers=1", "error: comptue: unknown field (did you mean 'compute'?)"),
    ("clps=3", "error: clps: unknown field (did you mean 'clips'?)"),
    # … a settings block given a number named an internal class; two distribution keys said "extra input"
    ("backend.sensor_noise=0.02", "error: backend.sensor_noise: expected a mapping of shot, read (got 0.02)"),
    ("objects.0.placement.x={uniform: [0, 1], normal: [0, 1]}",
     "error: objects.0.placement.x: give one distribution, got 2: uniform, normal"),
])
def test_an_unknown_field_comes_with_the_closest_valid_name(arg, line):
    """docs/guide.md: unknown names come with the closest valid one (recipe fields and compute settings)."""
    r = run_cli("validate", "shapes", arg)
    assert r.returncode == 2 and r.stderr.strip() == line, r.stderr


def test_a_bad_device_says_what_fits():
    r = run_cli("validate", "shapes", "device=tpu")
    assert r.returncode == 2 and r.stderr.strip() == "error: device: expected auto, cpu, cuda or cuda:<index>, got 'tpu'"


@pytest.mark.parametrize("arg,line", [
    ("compute.window_pixels=null",
     "error: compute.window_pixels: expected 'auto' or a whole number of pixels from 1 to 2^40, got null"),
    ("compute.workers=null", "error: compute.workers: expected 'auto' or a whole number from 1 to 4096, got null"),
    ("compute.gpus=-1", "error: compute.gpus: expected 'auto' or a whole number from 0 to 1024, got -1"),
    ("clip.width=null", "error: clip.width: Input should be a valid integer (got null)"),
    ("annotations.masks=null", "error: annotations.masks: Input should be a valid boolean (got null)"),
    ("camera.fov_deg=null",
     "error: camera.fov_deg: expected a constant or a distribution ({uniform: [a, b]}, {choice: [...]}, …), got null"),
])
def test_a_bad_value_is_shown_as_it_was_typed(arg, line):
    """"got null", as the command line and recipes spell it, never Python's "got None"."""
    r = run_cli("validate", "shapes", arg)
    assert r.returncode == 2 and r.stderr.strip() == line, r.stderr


def test_shown_spells_values_as_yaml():
    from synthdata.errors import shown

    assert [shown(v) for v in (None, True, False, 3, 0.5, "x")] == ["null", "true", "false", "3", "0.5", "'x'"]
    assert shown([1, None, {"a": False}]) == "[1, null, {a: false}]"


@pytest.mark.parametrize("value", ["null", "None", "~"])
def test_out_null_is_refused_not_a_folder_named_null(tmp_path, value):
    """Found by a new-user review: `out=null` wrote a folder named `null`; compute=null and device=null
    mean null. Refused, with the way to get either meaning."""
    r = run_cli("generate", "recipe=shapes", f"out={value}", *TINY, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(f"error: out: expected a directory path, got {value} "), r.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [("validate", "shapes", "-v", "clip.frames=2", "clip.widht=3"),
                                  ("validate", "shapes", "clip.frames=2", "-q", "clip.widht=3"),
                                  ("-v", "validate", "shapes", "clip.frames=2", "clip.widht=3")])
def test_global_flags_go_anywhere_between_arguments(argv):
    """docs/guide.md: -v/-q work before or after the command; a flag between key=value arguments cut
    the list short ("unrecognized arguments", argparse's usage) until they were put back."""
    r = run_cli(*argv)
    assert r.returncode == 2 and r.stderr.strip() == "error: clip.widht: unknown field (did you mean 'width'?)", r.stderr


def test_overlap_and_a_directory_recipe_say_what_they_are(tmp_path):
    """Found by a new-user review: `compute.overlap=maybe` said only "Input should be 'auto'", and a
    recipe path that is a directory said "file not found"."""
    r = run_cli("validate", "shapes", "compute.overlap=maybe")
    assert r.returncode == 2 and r.stderr.strip() == "error: compute.overlap: expected auto, true or false, got 'maybe'"
    (tmp_path / "dir.yaml").mkdir()
    r = run_cli("validate", str(tmp_path / "dir.yaml"))
    assert r.returncode == 2 and r.stderr.strip() == f"error: recipe: {tmp_path / 'dir.yaml'} is a directory, not a recipe file"

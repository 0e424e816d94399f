"""``synthdata`` command line: generate, train-generator, evaluate, ablate, validate, info, verify, fiftyone, export,
recipes.

Run arguments and recipe overrides share Hydra's ``key=value`` grammar::

    synthdata generate recipe=highway clips=100 out=data/highway clip.frames=8 seed=7 device=cpu

``recipe``, ``clips``, ``out``, ``progress``, ``compute`` and ``compute.<field>`` are run arguments;
every other ``key=value`` is a Hydra override of the recipe. Bad input exits 2 with one line per
problem; a run whose shards failed exits 1 after naming each failed clip.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import logging
import os
import re
import sys
from pathlib import Path
from typing import Iterator, Sequence

from .errors import RecipeError, UserError, refuse_repeated_keys, user_path

__all__ = ["main"]

log = logging.getLogger("synthdata")

RUN_ARGS = ("recipe", "clips", "out", "progress", "compute")


def _split(args: Sequence[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """→ (run arguments, compute overrides, recipe overrides)."""
    refuse_repeated_keys(a for a in args if "=" in a or a.startswith("~"))
    run: dict[str, str] = {}
    compute: list[str] = []
    overrides: list[str] = []
    for a in args:
        key, sep, value = a.partition("=")
        if sep and key in RUN_ARGS:
            run[key] = value
        elif sep and key.startswith("compute."):
            compute.append(a)
        elif sep or a.startswith("~"):
            _check_top_key(key)
            overrides.append(a)
        else:
            raise UserError(a, "expected key=value (a run argument or a recipe override such as clip.frames=8)")
    return run, compute, overrides


def _check_top_key(key: str) -> None:
    """An override's first name that is neither a recipe field nor a run argument, but close to a run
    argument (``clps``, ``comptue.workers``): say which one, as the recipe's own check does for its fields."""
    from .errors import closest
    from .recipe.schema import RecipeSpec

    top = key.lstrip("+~").split(".")[0]
    fields = list(RecipeSpec.model_fields)
    if top in RUN_ARGS or top in fields:
        return
    close = closest(top, [*RUN_ARGS, *fields])
    if close in RUN_ARGS:
        raise UserError(top, f"unknown field (did you mean {close!r}?)")


def _int(run: dict[str, str], key: str, default: int) -> int:
    raw = run.get(key, str(default))
    try:
        return int(raw)
    except ValueError:
        raise UserError(key, f"expected a whole number, got {raw!r}") from None


def _bool(raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes", "on"):
        return True
    if raw.lower() in ("false", "0", "no", "off"):
        return False
    raise UserError("progress", f"expected true or false, got {raw!r}")


def _generate_flags(ns: argparse.Namespace) -> list[str]:
    """Flags may come after key=value arguments (argparse's REMAINDER keeps them): pick them out."""
    flags = {"--dry-run": "dry_run", "--overwrite": "overwrite", "-m": "multirun", "--multirun": "multirun"}
    rest, args = [], list(ns.args)
    while args:
        a = args.pop(0)
        if a in flags:
            setattr(ns, flags[a], True)
        elif a == "--cfg" or a.startswith("--cfg="):
            value = a.partition("=")[2] or (args.pop(0) if args else "")
            if value != "job":
                raise UserError("--cfg", f"expected job (print the composed recipe and exit), got {value!r}")
            ns.cfg = value
        elif a in ("-v", "--verbose", "-q", "--quiet"):  # also accepted after the subcommand
            ns.verbose += a in ("-v", "--verbose")
            ns.quiet += a in ("-q", "--quiet")
            _logging(ns.verbose, ns.quiet)
        elif a.startswith("-") and "=" not in a:
            raise UserError(a, f"unknown option; expected one of {', '.join([*flags, '--cfg job'])}")
        else:
            rest.append(a)
    return rest


#: a sweep job's folder name: Hydra's override_dirname of the swept keys (``seed=1,clips=4``), nothing else
_JOB_DIR = re.compile(r"^[A-Za-z0-9_+\-][A-Za-z0-9_.=,+\-]*$")


def _sweep_jobs(args: list[str]) -> list[tuple[list[str], str]]:
    """Hydra multirun: every combination of the comma-separated (or ``range(…)``) values → one job's
    arguments and its folder name under ``out`` (the swept ``key=value`` pairs, Hydra's override_dirname)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    # only arguments that can sweep go through Hydra's grammar: a plain value such as out=~/data (whose ~
    # the grammar rejects) is kept as typed, in its place
    sweepable = [i for i, a in enumerate(args) if any(c in a.partition("=")[2] for c in ",(")]
    try:
        parsed = OverridesParser.create().parse_overrides([args[i] for i in sweepable])
        batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    except HydraException as exc:
        raise UserError("-m", f"could not parse the sweep ({str(exc).splitlines()[0]})") from None
    swept = [o.key_or_group for o in parsed if o.is_sweep_override()]
    if not swept:
        raise UserError("-m", "nothing to sweep: give a key comma-separated values, e.g. seed=1,2,3 or clips=4,8")
    jobs = []
    for values in (j for batch in batches for j in batch):
        job = list(args)
        for i, value in zip(sweepable, values):
            job[i] = value
        name = ",".join(sorted(a for a in job if a.partition("=")[0] in swept and a.partition("=")[0] != "out"))
        if name and (not _JOB_DIR.match(name) or ".." in name):
            raise UserError("-m", f"swept values make the folder name {name!r}; use letters, digits and . _ + - only")
        jobs.append((job, name))
    return jobs


def cmd_generate(ns: argparse.Namespace) -> int:
    args = _generate_flags(ns)
    if not ns.multirun:
        return _generate_one(ns, args)
    jobs = []
    for job, name in _sweep_jobs(args):
        run, _, _ = _split(job)
        if name:  # one dataset per job under out (default: multirun/<recipe>)
            base = run.get("out") or f"multirun/{Path(run.get('recipe', 'shapes')).stem}"
            job = [a for a in job if not a.startswith("out=")] + [f"out={Path(base) / name}"]
        jobs.append(job)
    if ns.cfg is None and not ns.dry_run:
        for i, job in enumerate(jobs):  # every job checked before any runs: a typo in the last one
            try:                        # must not come out after hours of the first ones
                _preflight(ns, *_split(job))
            except (RecipeError, UserError) as exc:
                where = f" (job {i + 1}/{len(jobs)}: {' '.join(job)})"
                problems = exc.problems if isinstance(exc, RecipeError) else [(exc.field, exc.message)]
                raise RecipeError([(f, m + where) for f, m in problems[:1]] + problems[1:]) from None
        log.info("multirun: %d jobs", len(jobs))
    for i, job in enumerate(jobs):
        if ns.cfg is None:
            print(f"[{i + 1}/{len(jobs)}] {' '.join(job)}", file=sys.stderr if ns.dry_run else sys.stdout)
        rc = _generate_one(ns, job)
        if rc:
            return rc
    return 0


def _generate_one(ns: argparse.Namespace, args: list[str]) -> int:
    run, compute_args, overrides = _split(args)
    # the embedded cluster starts first, in the background: its workers spawn and import the renderer
    # while this process loads the recipe (start-up ~1 s shorter); bad input is reported at once and
    # exits 2 once the idle workers are ended
    from .run import interrupts

    running, executor = ns.cfg is None and not ns.dry_run, None
    if running:  # from before the cluster's start thread imports: run/interrupts.py
        interrupts.hold()
    try:
        executor = _start_soon(run, compute_args) if running else None
        return _generate_with(ns, run, compute_args, overrides, executor)
    except (RecipeError, UserError) as exc:
        if executor is None:
            raise
        rc = _refused(exc)  # now; then the cluster that was starting meanwhile is abandoned
        from .run.executors import silence_teardown

        silence_teardown()
        abandon, executor = getattr(executor, "abandon", None), None
        if abandon is not None:
            abandon()
        return rc
    finally:
        interrupts.release(raise_noted=False)
        if executor is not None:  # generate() closed it already unless something failed before
            executor.__exit__(None, None, None)
        if "synthdata.run.forkserver" in sys.modules:  # started above for a run that never came
            sys.modules["synthdata.run.forkserver"].stop()


def _start_soon(run: dict[str, str], compute_args: list[str]):
    """An executor whose embedded cluster is starting in the background (one worker per shard at
    most); None for in-process compute or a remote cluster."""
    if run.get("compute", "local") == "local" and not any(a.startswith("compute.address=") for a in compute_args):
        from .run import forkserver

        forkserver.start()  # first: its imports for the CPU workers to come run while this process goes on
        from .render.device import cuda_possible  # (imports the renderer's settings: 0.4 s)

        if cuda_possible():  # GPU workers are spawned with their own devices: not from it
            forkserver.stop()
    from .run.compute import load_compute
    from .run.executors import make_executor
    from .run.plan import check_clips, shard_count

    compute = load_compute(run.get("compute", "local"), compute_args)
    compute.check_cores()  # before any worker starts: `compute.workers=99` must not spawn 99 first
    try:
        clips = int(run.get("clips", 8))
    except ValueError:
        return None  # reported with the other run arguments below
    check_clips(clips)  # before any worker starts: a refusal needs no cluster to close
    tasks = shard_count(clips, compute.shard_size, run.get("out") or f"data/{run.get('recipe', 'shapes')}")
    start = getattr(make_executor(compute, tasks=tasks), "start_soon", None)
    return start() if start is not None and compute.address is None else None


def _generate_with(ns: argparse.Namespace, run: dict[str, str], compute_args: list[str], overrides: list[str],
                   executor) -> int:
    from .api import load_recipe

    spec = load_recipe(run.get("recipe", "shapes"), overrides)
    if ns.cfg == "job":  # Hydra's --cfg job: the composed (and resolved) recipe, nothing generated
        from .recipe.loading import spec_to_yaml

        print(spec_to_yaml(spec), end="")
        return 0
    from .run.generate import GenerationFailed, generate

    compute, clips, out, progress = _run_settings(spec, run, compute_args)
    if ns.dry_run:  # every check generate makes before writing, and nothing written
        plan, est, resume = _preflight(ns, run, compute_args, overrides, spec)
        body = plan.as_dict() | {"resume_from_shards": len(resume.shards) if resume else 0,
                                 "compute": compute.model_dump(),
                                 "memory": {"per_worker_bytes": est.per_worker, "workers": est.workers,
                                            "total_bytes": est.total, "available_bytes": est.available,
                                            **_window_plan(spec, compute)}}
        print(json.dumps(body, indent=2))
        return 0
    if compute.name != "local":  # this process renders: malloc as in a worker (run/allocator.py)
        from .run.allocator import keep_freed_memory

        keep_freed_memory()
    try:
        m = generate(spec, clips, out, compute=compute, overwrite=ns.overwrite, progress=progress, executor=executor)
    except KeyboardInterrupt:
        print(f"interrupted; {_committed(out)} Re-run the same command to resume (finished shards are kept).",
              file=sys.stderr)
        return 130
    except GenerationFailed as exc:
        if all(f.no_space for f in exc.failures):  # the disk, not the shards: one line
            print(f"error: out: no space left on the device of {exc.out}; {_committed(out)} Free space and re-run "
                  "the same command to finish.", file=sys.stderr)
            return 1
        for f in exc.failures:
            if f.remote_traceback:
                print(f.remote_traceback.rstrip(), file=sys.stderr)
        for f in exc.failures:
            print(f"error: {f}", file=sys.stderr)
        print(f"error: {len(exc.failures)} shard(s) failed; the other shards are kept in {exc.out}. "
              "Re-run the same command to retry only the failed ones.", file=sys.stderr)
        return 1
    rate = m.stats.get("clips_per_second_last_run")
    if m.stats.get("shards_remade_after_verify"):
        log.warning("remade shard(s) %s: their files did not match dataset.json", m.stats["shards_remade_after_verify"])
    total, made = m.stats["rows"]["clips"], m.stats.get("clips_made_last_run") or 0
    resumed = f" ({made} made now, {total - made} were there)" if 0 < made < total else ""
    print(f"wrote {total} clips ({m.stats['rows']['objects']} object rows) to {out}"
          + (f" at {rate:.2f} clips/s{resumed}" if rate else " (all shards were already there)"))
    return 0


def _committed(out: str) -> str:
    from .io.layout import Layout
    from .io.manifest import Manifest

    try:
        m = Manifest.read(Layout(user_path(out, "out")))
    except (OSError, ValueError, TypeError):
        return f"nothing was committed in {out}."
    done = sum(s.clip_stop - s.clip_start for s in m.shards)
    return f"{done} of {m.num_clips} clips are committed in {out}."


def cmd_verify(ns: argparse.Namespace) -> int:
    from .io.layout import Layout
    from .io.reader import read_manifest
    from .io.verify import verify

    layout = Layout(user_path(ns.path, "path")).require_dataset()
    manifest = read_manifest(layout)
    bad = verify(layout, manifest, "quick" if ns.quick else "full")
    files = sum(len(s.files) for s in manifest.shards)
    for m in bad:
        print(f"mismatch: {m}")
    if bad:
        shards = sorted({m.shard for m in bad})
        print(f"{len(bad)} of {files} files do not match dataset.json (shards {shards}); re-run the generate "
              "command to remake them", file=sys.stderr)
        return 1
    done = sum(s.clip_stop - s.clip_start for s in manifest.shards)
    unfinished = "" if manifest.complete else (
        f"; the dataset is incomplete: {done} of {manifest.num_clips} clips are committed (re-run its generate "
        "command to finish it)" if done < manifest.num_clips else
        "; every clip is committed but the run did not finish (re-run its generate command to complete it)")
    print(f"ok: {files} files in {len(manifest.shards)} shards match dataset.json"
          + (" (sizes only)" if ns.quick else "") + unfinished)
    return 0


def cmd_train_generator(ns: argparse.Namespace) -> int:
    from .train import load_train_config

    cfg = load_train_config(ns.args)  # before the training stack loads: bad settings are refused at once
    from .train import train_generator

    try:
        res = train_generator(cfg)
    except KeyboardInterrupt:
        status = Path(cfg.out) / "training" / "status.json"
        step = json.loads(status.read_text())["step"] if status.is_file() else None
        where = f"the last checkpoint is at step {step}" if step else "no checkpoint was saved yet"
        print(f"interrupted; {where}. Continue with the same command and resume=true.", file=sys.stderr)
        return 130
    if res.steps_trained == 0:
        print(f"nothing to do: {res.out} is already at step {res.steps}")
        return 0
    print(f"trained {res.steps_trained} steps ({res.steps_per_second:.2f} steps/s), loss {res.log[0][1]:.4f} → "
          f"{res.log[-1][1]:.4f}; checkpoint in {res.out} (use backend=diffusion backend.checkpoint={res.out})")
    return 0


def cmd_evaluate(ns: argparse.Namespace) -> int:
    from .evaluate import evaluate_generated

    if ns.seg_steps < 1:
        raise UserError("--seg-steps", f"expected a positive number of steps, got {ns.seg_steps}")
    report = evaluate_generated(ns.path, train=ns.train, reference=ns.reference, seg_steps=ns.seg_steps)
    print(json.dumps(_finite(report), indent=2, allow_nan=False))  # JSON has no Infinity: null (identical clips)
    return 0


def _finite(value):
    """``value`` with every non-finite float as None (JSON null), for output other programs parse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def cmd_ablate(ns: argparse.Namespace) -> int:
    """``synthdata ablate CONFIG out=DIR [compute=…] [key=value…] [-m only=a,b]``."""
    from .evaluate.ablate import AblationFailed, ablate
    from .run.compute import load_compute

    run: dict[str, str] = {}
    compute_args, overrides, sweeps = [], [], []
    multirun = any(a in ("-m", "--multirun") for a in ns.args)
    for a in ns.args:  # -v/-q after the config (argparse's REMAINDER kept them)
        if a in ("-v", "--verbose", "-q", "--quiet"):
            ns.verbose += a in ("-v", "--verbose")
            ns.quiet += a in ("-q", "--quiet")
            _logging(ns.verbose, ns.quiet)
    flags = ("-m", "--multirun", "-v", "--verbose", "-q", "--quiet")
    for a in (a for a in ns.args if a not in flags):
        key, sep, value = a.partition("=")
        if not sep:
            raise UserError(a, "expected key=value (out=…, progress=…, compute=…, compute.<field>=…, or an ablation "
                               "override such as budget.steps=500)")
        if key in ("out", "progress", "compute"):
            run[key] = value
        elif key.startswith("compute."):
            compute_args.append(a)
        elif multirun and ("," in value or key == "only"):  # only=a: one job of one arm
            sweeps.append((key, value.split(",")))
        else:
            overrides.append(a)
    if "out" not in run:
        raise UserError("out", "required: the folder for runs and the report, e.g. out=ablations/synth-ratio")
    if len(sweeps) > 1:
        raise UserError(sweeps[1][0], "one swept key per multirun (e.g. -m only=a,b)")
    compute = load_compute(run.get("compute", "local"), compute_args)
    jobs = [[]] if not sweeps else [[f"{sweeps[0][0]}={v}"] for v in sweeps[0][1]]
    for job in jobs if sweeps else []:  # a job's folder (any key but only) is named by its value: a plain name
        if job[0].partition("=")[0] != "only" and (not _JOB_DIR.match(job[0]) or ".." in job[0]):
            raise UserError("-m", f"swept values make the folder name {job[0]!r}; use letters, digits and . _ + - only")
    def parts(job: list[str]) -> tuple[list[str], list[str]]:
        return [v.split("=", 1)[1] for v in job if v.startswith("only=")], [v for v in job if not v.startswith("only=")]

    if len(jobs) > 1:  # every job checked before any trains: a bad value in the last must not come after hours
        from .evaluate.ablate.harness import preflight

        for i, job in enumerate(jobs):
            only, extra = parts(job)
            try:
                preflight(ns.config, [*overrides, *extra], only or None)
            except UserError as exc:
                raise UserError(exc.field, f"{exc.message} (job {i + 1}/{len(jobs)}: {' '.join(job)})") from None
    for job in jobs:
        only, extra = parts(job)
        # a sweep of arms shares out (its cached runs; each job's report goes to out/only=<arm>); any
        # other swept key changes the ablation, so each job gets its own folder, as generate -m does
        out = Path(run["out"]) / extra[0] if extra and sweeps else run["out"]
        try:
            result = ablate(ns.config, out, overrides=[*overrides, *extra], compute=compute,
                            progress=_bool(run.get("progress")), only=only or None)
        except AblationFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for line in result.verdicts:
            print(line)
        print(f"report: {result.report}")
    return 0


def _preflight(ns: argparse.Namespace, run: dict[str, str], compute_args: list[str], overrides: list[str],
               spec=None):
    """Every check ``generate`` makes before it writes, writing nothing (``--dry-run``, and each job of
    a sweep before any runs): → (plan, memory estimate, manifest to resume from or None)."""
    from .api import load_recipe
    from .run.check import check_recipe
    from .run.memory import check_resources
    from .run.outdir import prepare_out
    from .run.plan import make_plan

    spec = load_recipe(run.get("recipe", "shapes"), overrides) if spec is None else spec
    compute, clips, out, _ = _run_settings(spec, run, compute_args)
    check_recipe(spec)
    plan = make_plan(spec, clips, out, compute.shard_size)
    est = check_resources(spec, compute)
    if compute.address:  # what the executor checks first: something that answers as a Dask scheduler
        from .run.executors import _probe

        try:
            _probe(compute.address)
        except OSError as exc:
            raise UserError("compute.address", f"no Dask scheduler with workers at {compute.address} "
                                               f"({type(exc).__name__}: {exc})") from None
    _, resume = prepare_out(plan, spec, ns.overwrite)
    return plan.resuming(resume), est, resume


def _run_settings(spec, run: dict[str, str], compute_args: list[str]):
    """The run arguments of ``generate`` checked (one line naming the first bad one): → (compute, clips,
    out, progress)."""
    from .run.compute import load_compute
    from .run.plan import check_clips

    compute = load_compute(run.get("compute", "local"), compute_args)
    clips = check_clips(_int(run, "clips", 8))
    if run.get("out", None) == "":
        raise UserError("out", "expected a directory path, got an empty value (leave out= away for data/<recipe>)")
    if run.get("out", None) in ("null", "None", "~"):  # what YAML and Python read as nothing
        raise UserError("out", f"expected a directory path, got {run['out']} (leave out= away for data/<recipe>, or "
                               f"write ./{run['out']} for a folder of that name)")
    return compute, clips, run.get("out") or f"data/{spec.name}", _bool(run.get("progress"))


def _window_plan(spec, compute) -> dict:
    """``--dry-run``'s word on windows: frames per window (0: whole clips) and the pixels a window holds,
    which a whole number of trace batches rounds ``compute.window_pixels`` to."""
    from .run.windows import window_frames

    frames = window_frames(spec, compute.window_pixels_value())
    return {"window_frames": frames, "window_pixels": frames * spec.clip.width * spec.clip.height}


def cmd_validate(ns: argparse.Namespace) -> int:
    from .api import load_recipe

    run, compute_args, overrides = _split(ns.overrides)
    spec = load_recipe(ns.recipe.removeprefix("recipe="), overrides)  # generate's spelling works too
    if run or compute_args:  # what generate would say of its run arguments
        _run_settings(spec, run, compute_args)
    print("ok")
    return 0


def cmd_info(ns: argparse.Namespace) -> int:
    from .io.reader import open_dataset
    from .progress import status

    with status(f"reading {ns.path}"):
        info = open_dataset(ns.path).info()
    if ns.json:
        print(json.dumps(info, indent=2))
        return 0
    w = max(len(k) for k in info)
    for k, v in info.items():
        print(f"{k:<{w}}  {v if not isinstance(v, (list, dict)) else json.dumps(v)}")
    return 0


@contextlib.contextmanager
def _flags(names: dict[str, str]) -> Iterator[None]:
    """A Python call's errors name its arguments (``out``); on the command line they name the flags that
    set them (``--out``). ``names``: argument → flag."""
    try:
        yield
    except UserError as e:
        if type(e) is not UserError or e.field not in names:
            raise
        raise UserError(names[e.field], e.message) from None


def cmd_fiftyone(ns: argparse.Namespace) -> int:
    from .integrations.fiftyone import dataset_summary, ensure_port_free, launch, to_fiftyone
    from .io.reader import open_dataset

    ds = open_dataset(ns.path)  # a bad path fails here, before FiftyOne starts
    with _flags({"port": "--port", "name": "--name"}):
        if ns.launch:  # a busy port is refused before anything is built
            ensure_port_free(ns.port)
        dataset = to_fiftyone(ds, name=ns.name, overwrite=ns.overwrite)
    print(json.dumps(dataset_summary(dataset)))
    if ns.launch:
        print(f"FiftyOne App: http://127.0.0.1:{ns.port}/datasets/{dataset.name}  (Ctrl-C to stop)", flush=True)
        launch(dataset, ns.port)
    return 0


def cmd_export(ns: argparse.Namespace) -> int:
    from .integrations import export
    from .io.reader import open_dataset

    ds = open_dataset(ns.path, verify="full")
    with _flags({"fmt": "--format", "out": "--out", "ds": "path"}):
        summary = export(ds, ns.format, ns.out)
    print(json.dumps(summary))
    return 0


def cmd_completion(ns: argparse.Namespace) -> int:
    from .completion import completion_script
    from .configs import config_dir

    recipes = sorted(p.stem for p in (config_dir() / "recipe").glob("*.yaml"))
    computes = sorted(p.stem for p in (config_dir() / "compute").glob("*.yaml"))
    print(completion_script(ns.shell, build_parser(), recipes, computes), end="")
    return 0


def cmd_recipes(ns: argparse.Namespace) -> int:
    from .configs import list_recipes

    items = list_recipes()
    w = max(len(n) for n, _ in items)
    for name, desc in items:
        print(f"{name:<{w}}  {desc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synthdata", description="Declarative recipes → labelled synthetic video datasets.")
    from . import __version__
    from .integrations import EXPORTERS

    p.add_argument("--version", action="version", version=f"synthdata {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics on stderr (-vv: debug)")
    p.add_argument("-q", "--quiet", action="count", default=0, help="warnings and errors only; no progress bars")
    common = argparse.ArgumentParser(add_help=False)  # -v/-q also after the subcommand
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", parents=[common], help="generate a dataset from a recipe",
                       description="synthdata generate recipe=<name|file.yaml> clips=<N> out=<dir> [overrides…] "
                                   "[-m] [--cfg job] [--dry-run] [--overwrite]")
    g.add_argument("args", nargs=argparse.REMAINDER,
                   help="recipe=…, clips=…, out=…, progress=…, compute=local|threads|sync, compute.<field>=…, recipe "
                        "overrides; -m/--multirun sweeps comma-separated values (seed=1,2,3), one dataset per job in "
                        "out/<key=value,…>; --cfg job prints the composed recipe and exits")
    g.add_argument("-m", "--multirun", action="store_true",
                   help="sweep comma-separated values (seed=1,2,3 clips=4,8): one dataset per job in out/<key=value,…>")
    g.add_argument("--cfg", choices=("job",), help="job: print the composed recipe (YAML) and exit")
    g.add_argument("--dry-run", action="store_true", help="validate and print the plan; write nothing")
    g.add_argument("--overwrite", action="store_true", help="replace an existing synthdata dataset at out")
    g.set_defaults(fn=cmd_generate, help_text=g.format_help)
    t = sub.add_parser("train-generator", parents=[common], help="train a layout→video diffusion model on a synthdata dataset",
                       description="synthdata train-generator data=<dataset dir> out=<checkpoint dir> "
                                   "[model=tiny|small|base steps=… batch=… lr=… precision=bf16 resume=true …]")
    t.add_argument("args", nargs="*", help="key=value settings (see docs/generator.md)")
    t.set_defaults(fn=cmd_train_generator)
    ev = sub.add_parser("evaluate", parents=[common], help="quality of a generated dataset: label-fidelity mIoU, warp error, PSNR/SSIM",
                        description="Prints JSON. --train trains a small segmenter on that dataset for label "
                                    "fidelity; --reference compares clip by clip (e.g. the ray-cast source of a refine run).")
    ev.add_argument("path")
    ev.add_argument("--train", help="dataset to train the label-fidelity segmenter on (e.g. the generator's training data)")
    ev.add_argument("--reference", help="dataset with the same clip ids to compare against (PSNR/SSIM)")
    ev.add_argument("--seg-steps", type=int, default=300)
    ev.set_defaults(fn=cmd_evaluate)
    ab = sub.add_parser("ablate", parents=[common], help="train a downstream task per arm × seed with equal compute; report paired "
                                       "bootstrap intervals against the baseline arm",
                        description="synthdata ablate <config.yaml> out=<dir> [compute=local|sync] [key=value …] "
                                    "[-m only=armA,armB] (docs/evaluation.md)")
    ab.add_argument("config")
    ab.add_argument("args", nargs=argparse.REMAINDER,
                    help="out=…, progress=…, compute=…, compute.<field>=…, ablation overrides; -m/--multirun sweeps "
                         "one key over comma-separated values, one ablation job per value (runs are cached)")
    ab.set_defaults(fn=cmd_ablate, help_text=ab.format_help)
    v = sub.add_parser("validate", parents=[common], help="check a recipe (name or YAML path); prints ok or one line per problem")
    v.add_argument("recipe")
    v.add_argument("overrides", nargs="*", default=[])  # a default: argparse then names only recipe as missing
    v.set_defaults(fn=cmd_validate)
    i = sub.add_parser("info", parents=[common], help="counts, classes, annotation types and sizes of a dataset")
    i.add_argument("path")
    i.add_argument("--json", action="store_true")
    i.set_defaults(fn=cmd_info)
    f = sub.add_parser("fiftyone", parents=[common], help="build (or replace) a persistent FiftyOne video dataset; --launch serves the App")
    f.add_argument("path")
    f.add_argument("--name", help="FiftyOne dataset name (default: the directory's name)")
    f.add_argument("--overwrite", action="store_true", help="replace a FiftyOne dataset of that name")
    f.add_argument("--launch", action="store_true", help="serve the App on 127.0.0.1 until Ctrl-C")
    f.add_argument("--port", type=int, default=5151)
    f.set_defaults(fn=cmd_fiftyone)
    e = sub.add_parser("export", parents=[common], help="write COCO (video extensions, RLE masks, keypoints), MOT Challenge or TAP-Vid files")
    e.add_argument("path")
    e.add_argument("--format", required=True, help=" or ".join(EXPORTERS.names()))
    e.add_argument("--out", required=True)
    e.set_defaults(fn=cmd_export)
    vf = sub.add_parser("verify", parents=[common], help="check every file of a dataset against dataset.json (exit 1 on a mismatch)")
    vf.add_argument("path")
    vf.add_argument("--quick", action="store_true", help="existence and sizes only, no content hashes")
    vf.set_defaults(fn=cmd_verify)
    r = sub.add_parser("recipes", parents=[common], help="list the shipped recipes")
    r.set_defaults(fn=cmd_recipes)
    c = sub.add_parser("completion", parents=[common], help="print a shell completion script (bash or zsh)",
                       description='eval "$(synthdata completion bash)" in ~/.bashrc, or save it to '
                                   "~/.local/share/bash-completion/completions/synthdata")
    c.add_argument("shell", choices=("bash", "zsh"))
    c.set_defaults(fn=cmd_completion)
    return p


def _logging(verbose: int, quiet: int) -> None:
    """``-v``/``-q`` → the ``synthdata`` logger's level; diagnostics go to stderr as ``synthdata: …``."""
    level = logging.INFO + 10 * (quiet - verbose)
    log.setLevel(min(max(level, logging.DEBUG), logging.CRITICAL))
    if not any(getattr(h, "_synthdata_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("synthdata: %(message)s" if verbose < 2 else
                                               "synthdata %(levelname)s %(name)s: %(message)s"))
        handler._synthdata_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False


def _refused(exc: RecipeError | UserError) -> int:
    """Bad input: its line(s) on stderr, flushed, and exit code 2."""
    for line in exc.lines() if isinstance(exc, RecipeError) else [str(exc)]:
        print(f"error: {line}", file=sys.stderr)
    sys.stderr.flush()
    return 2


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, with ``-v``/``-q`` allowed anywhere (docs/guide.md): argparse ends a list of
    positionals at a flag, so key=value arguments after one are put back into the command's list."""
    parser = build_parser()
    ns, extra = parser.parse_known_args(argv)
    rest = next((k for k in ("overrides", "args") if isinstance(getattr(ns, k, None), list)), None)
    if extra and rest is not None and not any(a.startswith("-") for a in extra):
        setattr(ns, rest, [*getattr(ns, rest), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parse(argv)
    _logging(ns.verbose, ns.quiet)
    if any(a in ("-h", "--help") for a in getattr(ns, "args", None) or ()):  # after key=value arguments too
        print(ns.help_text())
        return 0
    try:
        return ns.fn(ns)
    except (RecipeError, UserError) as exc:
        return _refused(exc)
    except KeyboardInterrupt:  # commands with something to resume say so themselves
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `synthdata info … | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run() -> int:
    """The ``synthdata`` command: :func:`main`, then no full garbage collection as the interpreter
    exits (``gc.freeze``): everything the command wrote is closed by then, and that last collection
    of a process that imported Dask and pydantic took ~0.2 s of every command (measured)."""
    rc = main()
    gc.freeze()
    return rc


if __name__ == "__main__":
    sys.exit(run())

"""The ablation report: tables a notebook reads, and a page a reviewer reads.

- ``results.parquet``: one row per arm × seed × metric (plus samples seen per source, seconds);
- ``comparisons.parquet``: one row per arm vs the baseline (delta, interval, P(improve), IQMs);
- ``curves.parquet``: loss (and metric) per step per run;
- ``report.md`` with ``plots/arms.png`` (metric per arm, bootstrap interval bars), ``plots/curves.png``
  (learning curves) and ``plots/per_class.png`` (per-class deltas vs the baseline), and a verdict line
  per arm.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_report"]


def _results_table(runs) -> pa.Table:
    rows = defaultdict(list)
    for r in runs:
        for metric, value in sorted(r.summary.items()):
            rows["arm"].append(r.arm)
            rows["seed"].append(r.seed)
            rows["metric"].append(metric)
            rows["value"].append(float(value))
            rows["primary"].append(metric == r.metric)
            rows["steps"].append(r.steps)
            rows["batch"].append(r.batch)
            rows["samples_seen"].append(json_dict(r.seen))
            rows["seconds"].append(float(r.seconds))
    return pa.table(dict(rows))


def json_dict(d: dict) -> str:
    import json

    return json.dumps(d, sort_keys=True)


def _comparisons_table(comparisons) -> pa.Table:
    cols = ["arm", "baseline", "metric", "delta", "low", "high", "p_improve", "p_improve_low", "p_improve_high",
            "iqm_arm", "iqm_baseline", "resamples", "level"]
    return pa.table({c: [getattr(x, c) for x in comparisons] for c in cols})


def _curves_table(runs) -> pa.Table:
    rows = defaultdict(list)
    for r in runs:
        for kind, curve in (("loss", r.loss_curve), (r.metric, r.eval_curve)):
            for step, value in curve:
                rows["arm"].append(r.arm)
                rows["seed"].append(r.seed)
                rows["kind"].append(kind)
                rows["step"].append(int(step))
                rows["value"].append(float(value))
    return pa.table(dict(rows)) if rows else pa.table({"arm": pa.array([], pa.string())})


def _plot_arms(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(r.arm for r in result.runs))
    metric = result.runs[0].metric
    base = result.spec.baseline_arm
    by = {c.arm: c for c in result.comparisons}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.2))
    for i, arm in enumerate(arms):
        vals = [r.summary[metric] for r in result.runs if r.arm == arm]
        ax.scatter([i] * len(vals), vals, color="C0", alpha=0.6)
        ax.plot([i - 0.2, i + 0.2], [np.mean(vals)] * 2, color="k")
    ax.set_xticks(range(len(arms)), arms, rotation=20)
    ax.set_ylabel(metric)
    ax.set_title("per seed (dots) and mean")
    others = [a for a in arms if a != base]
    for i, arm in enumerate(others):
        c = by[arm]
        color = "C2" if c.low > 0 else "C3" if c.high < 0 else "C7"
        bx.errorbar([i], [c.delta], yerr=[[c.delta - c.low], [c.high - c.delta]], fmt="o", color=color, capsize=4)
    bx.axhline(0, color="k", lw=0.8)
    bx.set_xticks(range(len(others)), others, rotation=20)
    bx.set_ylabel(f"Δ {metric} vs {base}")
    bx.set_title(f"{int(result.spec.bootstrap.level * 100)}% paired bootstrap interval")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_curves(result, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    arms = list(dict.fromkeys(r.arm for r in result.runs))
    for i, arm in enumerate(arms):
        for k, r in enumerate(r for r in result.runs if r.arm == arm):
            steps, loss = zip(*r.loss_curve)
            kernel = max(1, len(loss) // 20)
            smooth = np.convolve(loss, np.ones(kernel) / kernel, mode="valid")
            ax.plot(steps[kernel - 1:], smooth, color=f"C{i}", alpha=0.8, label=arm if k == 0 else None)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_per_class(result, path: Path) -> None:
    import matplotlib.pyplot as plt

    base = result.spec.baseline_arm
    arms = [a for a in dict.fromkeys(r.arm for r in result.runs) if a != base]
    classes = sorted({c for r in result.runs for c in r.per_class})
    if not classes or not arms:
        return

    def mean_per_class(arm):
        rs = [r for r in result.runs if r.arm == arm]
        return np.array([np.nanmean([r.per_class.get(c, np.nan) for r in rs]) for c in classes])

    b = mean_per_class(base)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(classes) * len(arms)), 3.2))
    width = 0.8 / len(arms)
    for i, arm in enumerate(arms):
        ax.bar(np.arange(len(classes)) + i * width, mean_per_class(arm) - b, width, label=arm, color=f"C{i + 1}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes, rotation=20)
    ax.set_ylabel(f"Δ per-class {result.runs[0].metric} vs {base}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _augment_name(augment) -> str:
    if isinstance(augment, str):
        return augment
    return "inline: " + ", ".join(str(o.get("name", "?")) for o in augment.get("ops", []))


def _clips_read(ds) -> str:
    """Which clips of a dataset an ablation read, for the report's header."""
    if ds.split_name is None:
        return f"all {len(ds)} clips, whatever their `split`"
    return f"the {len(ds)} clips of split `{ds.split_name}`"


def _markdown(result, opened) -> str:
    spec = result.spec
    metric = result.runs[0].metric
    arms = list(dict.fromkeys(r.arm for r in result.runs))
    budgets = {a: (r.steps, r.batch) for r in result.runs for a in [r.arm]}  # what each arm's runs trained with
    equal = len(set(budgets.values())) == 1
    compute = (f"Every arm: {spec.budget.steps} steps × {spec.budget.batch} clips (equal compute)" if equal else
               "**Unequal compute** (`allow_unequal_budget`): " + ", ".join(f"`{a}` {st} steps × {b} clips"
                                                                              for a, (st, b) in budgets.items())
               + " — a difference below may come from the extra training, not the data")
    lines = [f"# Ablation `{spec.name}`", "",
             f"Task `{spec.task.name}` ({spec.task.size}), metric **{metric}** on the evaluation set "
             f"(`{opened.eval.root}`: {_clips_read(opened.eval)}; training sets: "
             + ", ".join(f"`{n}` {_clips_read(ds)}" for n, ds in opened.train.items())
             + f"; none sharing a clip with it). {compute}, seeds {spec.seeds}; {spec.bootstrap.resamples} paired bootstrap "
             f"resamples (stratified by {spec.bootstrap.strata}) against the baseline `{spec.baseline_arm}`.", "",
             "## Verdicts", ""]
    lines += [f"- {v}" for v in result.verdicts]
    lines += ["", "![arms](plots/arms.png)", "", "## Arms", "",
              "| arm | data (weights) | augment | samples seen (all seeds) | " + f"{metric} mean | IQM | per seed |",
              "|---|---|---|---|---|---|---|"]
    from ..stats import iqm

    for arm in arms:
        a = next(x for x in spec.arms if x.name == arm)
        rs = [r for r in result.runs if r.arm == arm]
        vals = [r.summary[metric] for r in rs]
        seen = ", ".join(f"{k}: {sum(r.seen.get(k, 0) for r in rs)}" for k in rs[0].seen)  # over all seeds
        lines.append(f"| {arm} | {', '.join(f'{k}: {w:g}' for k, w in a.data.items())} | {_augment_name(a.augment)} | {seen} | "
                     f"{np.mean(vals):.4f} | {iqm(vals):.4f} | {', '.join(f'{v:.4f}' for v in vals)} |")
    lines += ["", "## Comparisons", "", "| arm | Δ | interval | P(improve) | P interval |", "|---|---|---|---|---|"]
    for c in result.comparisons:
        lines.append(f"| {c.arm} | {c.delta:+.4f} | [{c.low:+.4f}, {c.high:+.4f}] | {c.p_improve:.2f} | "
                     f"[{c.p_improve_low:.2f}, {c.p_improve_high:.2f}] |")
    if result.distances:
        lines += ["", "## Distance of each training set to the evaluation set", "",
                  "One contrastive video encoder, trained here on all of these sets (no downloaded weights); "
                  "lower is closer. Comparable within this report only.", "",
                  "| dataset | FVD | KID (± std) |", "|---|---|---|"]
        for name, d in result.distances.items():
            lines.append(f"| {name} | {d['fvd']:.3f} | {d['kid']:.4f} ± {d['kid_std']:.4f} |")
    lines += ["", "## Learning curves", "", "![curves](plots/curves.png)", ""]
    if (result.reports / "plots" / "per_class.png").exists():
        lines += ["## Per-class deltas", "", "![per class](plots/per_class.png)", ""]
    runs = "runs" if result.reports == result.out else "../runs"  # a run of some arms: the ablation's runs
    lines += ["Tables: `results.parquet` (arm × seed × metric), `comparisons.parquet`, `curves.parquet`; "
              f"runs (model, predictions, result.json) under `{runs}/<arm>/seed-<seed>/`.", ""]
    return "\n".join(lines)


def write_report(result, opened) -> None:
    from ...io.atomic import atomic_path, atomic_write_bytes

    out = result.reports
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    for name, table in (("results", _results_table(result.runs)), ("comparisons", _comparisons_table(result.comparisons)),
                        ("curves", _curves_table(result.runs))):
        with atomic_path(out / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp)
    if result.distances:
        import json

        atomic_write_bytes(out / "distances.json", json.dumps(result.distances, indent=1).encode())
    _plot_arms(result, plots / "arms.png")
    _plot_curves(result, plots / "curves.png")
    _plot_per_class(result, plots / "per_class.png")
    atomic_write_bytes(out / "report.md", _markdown(result, opened).encode())

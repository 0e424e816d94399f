"""Downstream-augmentation ablations: does this data or this augmentation help my model on my data?

``ablate(config, out)`` trains one task per arm × seed with equal compute, scores every run on one
evaluation set and compares each arm with the baseline by a paired stratified bootstrap
(docs/evaluation.md). Modules, top to bottom: ``config`` (what is compared), ``checks`` (refusals
before training), ``mixing`` (each run's sample plan), ``runs`` (one arm × seed), ``hooks`` (the
replaceable train/eval functions), ``harness`` (the whole loop), ``report`` and ``to_fiftyone``.
"""

from .config import AblationSpec, ArmSpec, BudgetSpec, load_ablation
from .harness import AblationFailed, AblationResult, ablate
from .hooks import HOOKS, ablation_hook

__all__ = ["AblationSpec", "ArmSpec", "BudgetSpec", "load_ablation", "ablate", "AblationResult", "AblationFailed",
           "HOOKS", "ablation_hook"]

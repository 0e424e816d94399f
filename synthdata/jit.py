"""Compiled CPU loops (numba), loaded on first use and only where they pay.

A module of ``@njit(cache=True)`` loops compiles once per machine into numba's cache; loading numba
and the cached loops still costs a fresh process ~0.6 s, more than a small clip saves. So callers take
their loops for clips of at least :data:`AUTO_PIXELS` pixels, and commands that do not render never
import numba. Where numba cannot run the callers keep their torch passes, which compute the same
results (each loop's tests compare the two).
"""

from __future__ import annotations

import importlib
import logging
import sys
import tempfile
from types import ModuleType

__all__ = ["AUTO_PIXELS", "WARMED", "for_clip", "loops", "warm"]

log = logging.getLogger(__name__)

#: Clip pixels (width × height × frames) from which the compiled loops are taken by default (2¹⁷:
#: 128²×8, 64²×32). Loading numba costs a process ~0.45 s once; a shapes clip of 2¹⁷ pixels renders
#: ~0.15 s faster compiled (64²×24: 0.18 → 0.04 s; 128²×24: 0.37 → 0.11 s), so a run of three such clips
#: repays it. Smaller clips (tests, previews) keep the torch passes and never import numba. A function
#: of the clip alone, never of the run: the two paths may differ in last bits, and a clip must come
#: out the same whatever run makes it.
AUTO_PIXELS = 1 << 17

#: modules with a ``warm()`` that compiles their loops with the argument types a clip passes
WARMED = ("synthdata.render.raycast.cpu_kernels", "synthdata.annotate.flow_valid", "synthdata.annotate.masks")

_loaded: dict[str, ModuleType | None] = {}
_private_cache: tempfile.TemporaryDirectory | None = None


def loops(module: str) -> ModuleType | None:
    """The loop module ``module`` (dotted name), imported once; None where numba cannot run (not
    installed: one warning). numba caches a loop beside its source, else in the user's cache folder;
    where neither can be written (a read-only install with a read-only home) the process gets a private
    folder (the loops then compile in each process: set ``NUMBA_CACHE_DIR`` to a writable folder to
    keep them)."""
    global _private_cache
    if module not in _loaded:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            log.warning("synthdata: numba unavailable (%s): %s runs in torch", exc, module)
            mod = None
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            import numba

            sys.modules.pop(module, None)
            if _private_cache is None:
                _private_cache = tempfile.TemporaryDirectory(prefix="synthdata-numba-")
                numba.config.CACHE_DIR = _private_cache.name
                log.warning("synthdata: numba cannot write its cache here (%s); compiling into %s for this "
                            "process (set NUMBA_CACHE_DIR to a writable folder to compile once)", exc,
                            _private_cache.name)
            mod = importlib.import_module(module)
        _loaded[module] = mod
    return _loaded[module]


def for_clip(module: str, x, compiled: bool | None = None) -> ModuleType | None:
    """The loop module for a pass over clip-size tensor ``x`` (torch): on the CPU, when the clip has
    :data:`AUTO_PIXELS` elements (``compiled``: True or False forces the choice, for tests); None: take
    the torch pass."""
    if x.device.type != "cpu" or compiled is False or (compiled is None and x.numel() < AUTO_PIXELS):
        return None
    return loops(module)


def warm() -> None:
    """Compile every loop into numba's cache (~6 s, once per machine), or load it from there: e.g. in an
    image's build step (``python -c "import synthdata.jit as j; j.warm()"``), so the first large clip on
    a fresh machine does not compile."""
    for name in WARMED:
        importlib.import_module(name).warm()

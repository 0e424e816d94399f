"""Executors run shard tasks and yield outcomes as they complete; the driver owns the manifest.

``sync`` runs shards in this process; ``threads`` runs them on a thread pool in this process (the Python
API's default: nothing is spawned, so a script without a ``__main__`` guard and a notebook both work).
``local``/remote use Dask: an embedded ``LocalCluster`` (one
single-threaded worker process per core), one worker per GPU (``resources={"GPU": 1}`` and
``CUDA_VISIBLE_DEVICES`` per worker; dask-cuda's ``LocalCUDACluster`` when installed), or any existing
cluster at ``compute.address``. At most ``max_in_flight`` shards are submitted at once and a task
returns only a small :class:`~synthdata.run.shard.ShardResult`, so the driver never holds frames.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import struct
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from typing import Callable, Iterator, Protocol, Sequence, TypeVar

from ..errors import UserError
from ..registry import Registry
from . import forkserver, interrupts
from .compute import ComputeSpec
from .shard import ShardFailed, ShardJob, ShardResult, run_shard
from .worker_signals import children_ignore_sigint

__all__ = ["Executor", "EXECUTORS", "make_executor", "SyncExecutor", "ThreadExecutor", "DaskExecutor"]

log = logging.getLogger(__name__)
Outcome = ShardResult | ShardFailed
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol, AbstractContextManager):
    workers: int

    def job_threads(self) -> int | None: ...

    def run(self, job: ShardJob, shards: list[int]) -> Iterator[Outcome]: ...

    def imap(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str]) -> Iterator[tuple[int, R | Exception]]:
        """``fn(item)`` for every item, as they complete: (position, result or the exception raised).
        ``keys`` name the tasks (unique per run). Any picklable top-level ``fn`` runs here: shards,
        ablation runs."""
        ...


class SyncExecutor:
    """Shards one after another in this process (``compute=sync``)."""

    def __init__(self, compute: ComputeSpec):
        self.compute = compute
        self.workers = 1

    def __enter__(self) -> "SyncExecutor":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def job_threads(self) -> int | None:
        return None

    def imap(self, fn, items, keys):
        for i, item in enumerate(items):
            try:
                yield i, fn(item)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, which decides
                yield i, exc

    def run(self, job: ShardJob, shards: list[int]) -> Iterator[Outcome]:
        yield from _shard_outcomes(self, job, shards)


class ThreadExecutor:
    """Shards on a pool of threads in this process (``compute=threads``; the Python API's default).

    Nothing is spawned, so nothing re-imports the caller's ``__main__``: a plain script without an
    ``if __name__ == "__main__":`` guard works, as does a notebook. Torch releases the GIL in its
    kernels, so threads still overlap rendering; the backend (stateless between calls) is shared.
    """

    def __init__(self, compute: ComputeSpec):
        self.compute = compute
        self.workers = compute.num_workers()
        self._pool: ThreadPoolExecutor | None = None
        self._caller_threads: int | None = None

    def __enter__(self) -> "ThreadExecutor":
        if self.workers > 1 and not self.compute.num_gpus():
            # CPU shards on several threads: each gets compute.threads_per_worker torch threads (like a Dask
            # worker), not an OpenMP team on every core per shard (oversubscribed: measured 0.87 → 0.94
            # clips/s, shapes 256²×24 on 2 cores); the caller's setting comes back on exit
            import torch

            self._caller_threads = torch.get_num_threads()
            torch.set_num_threads(self.compute.threads_per_worker)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="synthdata-shard")
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._caller_threads is not None:
            import torch

            torch.set_num_threads(self._caller_threads)
            self._caller_threads = None

    def job_threads(self) -> int | None:
        return None  # set for the whole pool on entry (torch's thread count is per process)

    def _attempt(self, fn, item):
        for k in range(self.compute.retries + 1):
            try:
                return fn(item)
            except Exception:
                if k == self.compute.retries:
                    raise

    def imap(self, fn, items, keys):
        assert self._pool is not None, "use ThreadExecutor as a context manager"
        limit = self.compute.max_in_flight or 2 * self.workers
        todo = list(range(len(items)))
        pending: dict[Future, int] = {}
        while todo or pending:
            while todo and len(pending) < limit:
                i = todo.pop(0)
                pending[self._pool.submit(self._attempt, fn, items[i])] = i
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    yield i, future.result()
                except Exception as exc:  # noqa: BLE001 - handed to the caller, which decides
                    yield i, exc

    def run(self, job: ShardJob, shards: list[int]) -> Iterator[Outcome]:
        yield from _shard_outcomes(self, job, shards)


#: how long closing an executor waits for a cluster start it never used (a start takes seconds)
START_WAIT_S = 60.0


def _fill(future: Future, fn: Callable[[], T]) -> None:
    """Run ``fn`` and put its result (or error) in ``future``."""
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)


def _quiet_dask_loggers() -> None:
    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)  # a killed worker is handled, not news


def silence_teardown() -> None:
    """No more log lines from Dask (or the event loop under it): for closing a cluster that started for
    a run that was then refused. Its line is out already; a comm closed mid-start is no news (a new-user
    review saw "Batched Comm Closed" and a CommClosedError traceback after the refusal, once in 15)."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _stop_idle_workers(cluster) -> list[str]:
    """End an embedded cluster's worker processes at once instead of asking each to shut down (most of
    a second: a worker tears down its interpreter with torch loaded). Called only when no task is in
    flight and every result is in the driver's hands, so there is no work or data to lose; the nannies
    are told first, so they do not restart the workers, and still remove the workers' scratch folders.
    Returns the scratch folders' lock files, which a killed worker leaves behind (remove after close)."""
    locks = []
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(nanny, "pid", None)
        if not hasattr(nanny, "close_gracefully") or not pid:
            continue
        if getattr(nanny, "worker_dir", None):
            locks.append(f"{nanny.worker_dir}.dirlock")
        nanny.close_gracefully(reason="synthdata-run-done")
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return locks


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once where nothing listens at a ``tcp://host:port`` scheduler address (Dask's client would
    retry a refused connection until its 30 s timeout), and where what listens is no Dask scheduler (an
    SSH banner read as a frame length asks for exabytes; a silent HTTP server hangs the client); other
    schemes go straight to the client."""
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:  # not a port number: the client's own error says so
        return
    if parts.scheme != "tcp" or port is None or not parts.hostname:
        return
    with socket.create_connection((parts.hostname, port), timeout=timeout_s) as conn:
        # a Dask scheduler speaks first: its handshake, framed as (total bytes, frame count), two uint64 LE
        head = b""
        try:
            while len(head) < 16:
                chunk = conn.recv(16 - len(head))
                if not chunk:
                    break
                head += chunk
        except TimeoutError:
            pass
    if len(head) < 16:
        raise OSError(f"not a Dask scheduler: nothing answered Dask's handshake within {timeout_s:g} s")
    total, frames = struct.unpack("<QQ", head)
    if not (0 < total < 2**24 and 0 < frames <= 1024):
        raise OSError(f"not a Dask scheduler: it answered {head[:16]!r}")


class DaskExecutor:
    """Shards as Dask tasks (``compute=local`` or ``compute.address=…``)."""

    def __init__(self, compute: ComputeSpec, tasks: int | None = None):
        self.compute = compute
        self.gpus = 0 if compute.address else compute.num_gpus()
        self.workers = compute.num_workers()
        # a shard run (``tasks`` given: generate) warms its workers' imports and ends them at once after
        # a clean run; other users (the ablation harness) keep Dask's plain start and graceful close
        self.shard_run = tasks is not None
        # workers forked warm from a fork server (forkserver.py): CPU shard runs on an embedded cluster
        self.forked = self.shard_run and not self.gpus and not compute.address and forkserver.available()
        if tasks and not self.gpus and compute.workers == "auto":  # a process per core that gets no task
            self.workers = max(1, min(self.workers, tasks))           # only competes for the cores
        self.client = None
        self.cluster = None
        self._starting: Future | None = None
        self._in_flight = 0  # tasks submitted whose results the caller has not taken
        self._warm: list = []  # the warm-up tasks' futures (held, else Dask would cancel them)

    def _cluster(self):
        import dask
        from distributed import LocalCluster

        environ = forkserver.worker_environ()  # Dask's, but malloc's defaults kept (see there)
        method = {}
        if self.forked and forkserver.start():
            method = {"distributed.worker.multiprocessing-method": "forkserver"}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **method}), children_ignore_sigint():
            return self._start_cluster()

    def _start_cluster(self):
        from distributed import LocalCluster

        c = self.compute
        # The scheduler's HTTP server starts even without a dashboard, on 8787 by default: a second run
        # (or Jupyter's) would get "Port 8787 is already in use" on every start. A free port instead;
        # the dashboard only when asked (compute.dashboard=:8787).
        http = {"dashboard": c.dashboard is not None, "dashboard_address": c.dashboard or "127.0.0.1:0"}
        quiet = dict(silence_logs=logging.CRITICAL, dashboard_address=c.dashboard, scheduler_kwargs=http)
        if self.gpus:
            try:
                from dask_cuda import LocalCUDACluster

                return LocalCUDACluster(CUDA_VISIBLE_DEVICES=list(range(self.gpus)), threads_per_worker=c.threads_per_worker,
                                        resources={"GPU": 1}, memory_limit=c.memory_limit_bytes() or "auto",
                                        preload=_worker_preload(), **quiet)
            except ImportError:
                from distributed import Nanny, Scheduler, SpecCluster

                workers = {f"gpu-{i}": {"cls": Nanny, "options": {
                    "nthreads": c.threads_per_worker, "resources": {"GPU": 1}, "memory_limit": c.memory_limit_bytes() or "auto",
                    "env": {"CUDA_VISIBLE_DEVICES": str(i)}, "preload": _worker_preload()}} for i in range(self.gpus)}
                return SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": http},
                                   silence_logs=logging.CRITICAL)
        return LocalCluster(n_workers=self.workers, threads_per_worker=c.threads_per_worker, processes=True,
                            memory_limit=c.memory_limit_bytes() or "auto", preload=_worker_preload(), **quiet)

    def start_soon(self) -> "DaskExecutor":
        """Start the embedded cluster in a background thread; ``__enter__`` waits for it.

        Spawning the workers and their imports of the rendering stack (a second or two of CPU each, in
        their own processes) then overlap whatever the caller does meanwhile: loading and checking the
        recipe. A no-op for a remote cluster."""
        if self.compute.address or self._starting is not None or self.cluster is not None:
            return self
        if self.forked:
            forkserver.start()  # importing the stack from now on, for the workers to come

        def start():  # workers ignore SIGINT through their preload (worker_signals.py), as this thread
            return self._up(self._cluster())  # cannot make them inherit an ignored SIGINT

        _quiet_dask_loggers()
        self._starting = Future()
        # a daemon thread, waited for a bounded time (__exit__): a Ctrl-C in the middle of an import can
        # leave that module's import lock held for good (CPython), and this thread, importing Dask, would
        # wait on it forever. (generate holds Ctrl-C during set-up so that it does not: run/interrupts.py)
        threading.Thread(target=_fill, args=(self._starting, start), name="synthdata-cluster-start", daemon=True).start()
        return self

    def __enter__(self) -> "DaskExecutor":
        from distributed import Client

        _quiet_dask_loggers()
        if self.compute.address:
            try:
                _probe(self.compute.address)
                self.client = Client(self.compute.address, timeout="30s")
                self.client.wait_for_workers(1, timeout=120)
            except (OSError, TimeoutError) as exc:
                self.__exit__(None, None, None)
                raise UserError("compute.address", f"no Dask scheduler with workers at {self.compute.address} "
                                                   f"({type(exc).__name__}: {exc})") from None
            self.workers = max(1, len(self.client.scheduler_info()["workers"]))
        else:
            self.cluster, self.client, self._warm = self._started() or self._up(self._cluster())
        return self

    def _up(self, cluster):
        """A client of the new ``cluster``, and a warm-up task on each worker (the shard stack's imports
        run now, not in front of each worker's first shard; no data, so it may be cut short)."""
        from distributed import Client

        from .warm import warm_up

        client = Client(cluster)
        workers = client.scheduler_info()["workers"] if self.shard_run else {}
        warm = [client.submit(warm_up, key=f"synthdata-warm-up-{i}", workers=[address], allow_other_workers=False,
                              pure=False) for i, address in enumerate(workers)]
        return cluster, client, warm

    def _started(self):
        """What :meth:`start_soon` began (waits for it; its start-up error is raised here)."""
        if self._starting is None:
            return None
        out = interrupts.wait(self._starting)  # Ctrl-C here: still there for __exit__ to close
        self._starting = None
        return out

    def abandon(self) -> None:
        """Close a cluster started soon for a run that was refused before it began. The fork server is
        stopped first, so workers not yet forked never start and the start fails at once, instead of
        being waited for (its imports, then each worker's start and close: ~3 s after the one-line
        refusal, measured)."""
        if self.cluster is None and self._starting is not None and self.forked:
            forkserver.stop()
        self.__exit__(None, None, None)

    def __exit__(self, *exc) -> None:
        if self.cluster is None and self._starting is not None:  # started soon, never entered
            starting, self._starting = self._starting, None
            try:  # bounded: a start stuck for good (see start_soon) must not keep the process alive
                self.cluster, self.client, self._warm = starting.result(timeout=START_WAIT_S)
            except Exception:  # noqa: BLE001 - nothing to close; the caller's own error is the news
                pass
        self._warm = []
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        idle = cluster is not None and self.shard_run and exc[0] is None and not self._in_flight
        locks = _stop_idle_workers(cluster) if idle else []
        if cluster is not None:
            log.debug("closing the embedded Dask cluster")
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if self.forked:
            forkserver.stop()
        for lock in locks:
            try:
                os.unlink(lock)
            except OSError:
                pass

    def job_threads(self) -> int | None:
        return self.compute.threads_per_worker

    def imap(self, fn, items, keys):
        from distributed import as_completed

        limit = self.compute.max_in_flight or 2 * self.workers
        resources = {"GPU": 1} if self.gpus else None
        todo = list(range(len(items)))
        index: dict[str, int] = {}

        def submit(i: int):
            f = self.client.submit(fn, items[i], key=keys[i], pure=False, retries=self.compute.retries,
                                   resources=resources)
            index[f.key] = i
            self._in_flight += 1
            return f

        pending = as_completed([submit(todo.pop(0)) for _ in range(min(limit, len(todo)))])
        for future in pending:
            try:
                result: object = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task took down workers too often
                result = exc
            finally:
                future.release()
            self._in_flight -= 1
            yield index[future.key], result
            if todo:
                pending.add(submit(todo.pop(0)))

    def run(self, job: ShardJob, shards: list[int]) -> Iterator[Outcome]:
        yield from _shard_outcomes(self, job, shards)


def _shard_outcomes(executor: Executor, job: ShardJob, shards: list[int]) -> Iterator[Outcome]:
    """Shard tasks through ``executor.imap``: a failure that is not a :class:`ShardFailed` (a killed
    worker) still names its shard."""
    # the key names the run and the shard: identical arguments of two runs never merge
    keys = [f"shard-{job.recipe_hash[:12]}-{job.spec.seed}-{s:05d}" for s in shards]
    for i, out in executor.imap(functools.partial(run_shard, job), shards, keys):
        if isinstance(out, ShardFailed) or not isinstance(out, Exception):
            yield out
        else:
            yield ShardFailed(shards[i], None, None, "", f"{type(out).__name__}: {out}", "")


def _worker_preload() -> list[str]:
    """Preloads of every embedded worker: the user's Dask config (``distributed.worker.preload``)
    plus ours, which make the worker ignore SIGINT as it starts (and restarts) and keep freed memory
    for reuse (:mod:`.allocator`)."""
    import dask

    theirs = dask.config.get("distributed.worker.preload", None) or []
    return [*([theirs] if isinstance(theirs, str) else theirs), "synthdata.run.worker_signals", "synthdata.run.allocator"]

EXECUTORS: Registry[type] = Registry("executor", "synthdata.executors")
EXECUTORS.register("sync", SyncExecutor)
EXECUTORS.register("threads", ThreadExecutor)
EXECUTORS.register("local", DaskExecutor)


def make_executor(compute: ComputeSpec, tasks: int | None = None) -> Executor:
    """The executor ``compute`` names; ``tasks`` (how many tasks the run will submit, when known) caps
    an embedded cluster's automatic worker count: a one-shard run starts one worker process."""
    cls = EXECUTORS.get(compute.name, "compute.name")
    return cls(compute, tasks=tasks) if issubclass(cls, DaskExecutor) else cls(compute)

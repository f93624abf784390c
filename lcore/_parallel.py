"""How lcore spreads repeats over joblib workers, with a progress bar that moves per repeat.

The simulator splits its ``R`` repeats into chunks ``(lo, hi)`` (repeats ``lo .. hi-1``) and
hands them to :func:`run_chunks`, which runs ``task(lo, hi)`` for each chunk on whatever
joblib backend is active and returns the results in chunk order. The repeat results must not
depend on the chunking (each repeat carries its own random state), so the same seed gives the
same bits for any ``n_jobs`` and backend.

- Any joblib backend works: loky (joblib's default), threading, multiprocessing, dask
  (``with joblib.parallel_config("dask"):`` inside a ``distributed.Client``), ray
  (``ray.util.joblib.register_ray()`` then ``parallel_config("ray")``), or any registered
  one. Results come back as a list (``return_as="list"``, which every backend supports), so a
  backend without generator support (multiprocessing, ray) works too.
- ``n_jobs`` means what it means to :class:`joblib.Parallel`: ``None`` defers to the active
  ``joblib.parallel_config`` (its backend and its ``n_jobs``; one process when there is no
  such context), ``-1`` all workers, ``1`` one worker. An explicit ``n_jobs=1`` inside a dask
  or ray context still runs on that cluster (one task at a time), as joblib does; outside any
  context it runs in this process.
- Progress: a tqdm bar on stderr counting *repeats*, with the rate and an ETA, that stays on
  screen at the end with its final count (``R/R``, or how far it got when a task raised). It
  advances each time a task finishes (joblib's completion callback, in this process, for every
  backend), so with one-repeat chunks it moves per repeat. It is drawn only when stderr is a
  terminal (quiet in logs, CI and pipes) unless ``progress="always"``; ``progress`` may also
  be a callable ``progress(done, total)`` called after each finished task.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Sequence

__all__ = ["n_workers", "plan_chunks", "run_chunks"]


def n_workers(n_jobs: int | None) -> int:
    """The number of workers joblib would use for ``n_jobs`` in the active context (>= 1).

    ``None`` follows the active ``joblib.parallel_config`` (1 outside any context).
    """
    import joblib

    try:
        return max(1, int(joblib.effective_n_jobs(n_jobs)))
    except Exception:  # a backend that cannot tell before it runs: assume one worker
        return 1


def plan_chunks(total: int, workers: int, cheap: bool = False) -> list:
    """Split ``total`` repeats into chunks ``(lo, hi)`` for ``workers`` workers.

    ``cheap`` work (each repeat takes microseconds, e.g. the random chooser in C) gets one
    chunk per worker: the task overhead would dominate otherwise. Any other work gets one
    chunk per repeat, so that the workers stay balanced and the progress bar moves per repeat
    (:func:`run_chunks` dispatches one task at a time).

    Returns
    -------
    list of (int, int)
        Consecutive, non-empty, covering ``0 .. total``.
    """
    if total <= 0:
        return []
    n = min(total, max(1, workers)) if cheap else total
    bounds = [round(j * total / n) for j in range(n + 1)]
    return [(bounds[j], bounds[j + 1]) for j in range(n) if bounds[j + 1] > bounds[j]]


class _Bar:
    """Thread-safe progress in repeats: a tqdm bar and/or a callback."""

    def __init__(self, progress: Any, total: int, desc: str, file: Any = None) -> None:
        self.total = total
        self.done = 0
        self._lock = threading.Lock()
        self._callback = progress if callable(progress) else None
        self._tqdm = None
        if progress is True or progress == "always":
            stream = sys.stderr if file is None else file
            isatty = getattr(stream, "isatty", None)
            shown = progress == "always" or (callable(isatty) and bool(isatty()))
            if shown:
                from tqdm import tqdm

                self._tqdm = tqdm(
                    total=total, desc=desc or None, unit="repeat", file=stream, leave=True,
                    smoothing=0.1, mininterval=0.2,
                )

    def set(self, done: int) -> None:
        with self._lock:
            done = min(done, self.total)
            if done <= self.done:
                return
            step, self.done = done - self.done, done
            if self._tqdm is not None:
                self._tqdm.update(step)
            if self._callback is not None:
                self._callback(done, self.total)

    def close(self) -> None:
        with self._lock:
            if self._tqdm is not None:
                self._tqdm.refresh()
                self._tqdm.close()
                self._tqdm = None


class _Portable:
    """``task`` made picklable for every backend (the multiprocessing backend uses plain
    pickle, which refuses closures): pickled once with cloudpickle; each receiving process
    unpickles it once per run (cached by a token)."""

    _loaded: dict = {}

    def __init__(self, task: Callable) -> None:
        import uuid

        self.task = task
        self.token = uuid.uuid4().hex
        self._blob = None

    def __call__(self, lo: int, hi: int) -> Any:
        return self.task(lo, hi)

    def __reduce__(self):
        if self._blob is None:
            try:  # joblib >= 1.5 depends on cloudpickle; older ones ship a copy
                import cloudpickle
            except ImportError:  # pragma: no cover
                from joblib.externals import cloudpickle

            self._blob = cloudpickle.dumps(self.task)
        return _load_portable, (self.token, self._blob)


def _load_portable(token: str, blob: bytes) -> _Portable:
    cache = _Portable._loaded
    out = cache.get(token)
    if out is None:
        import pickle

        out = _Portable(pickle.loads(blob))
        out.token = token
        if len(cache) > 8:
            cache.clear()
        cache[token] = out
    return out


_PARALLEL_CLASS: list = []


def _parallel_class():
    if _PARALLEL_CLASS:
        return _PARALLEL_CLASS[0]
    from joblib import Parallel

    class _ProgressParallel(Parallel):
        """joblib.Parallel that reports finished tasks to a :class:`_Bar` instead of printing."""

        _lcore_bar: _Bar | None = None
        _lcore_done_by_tasks: Sequence[int] = ()

        def print_progress(self):  # called by joblib in this process after each batch
            bar = self._lcore_bar
            if bar is None:
                return
            n = min(self.n_completed_tasks, len(self._lcore_done_by_tasks) - 1)
            bar.set(self._lcore_done_by_tasks[n])

    _PARALLEL_CLASS.append(_ProgressParallel)
    return _ProgressParallel


def run_chunks(
    task: Callable[[int, int], Any],
    chunks: Sequence[tuple],
    n_jobs: int | None = 1,
    progress: Any = True,
    desc: str = "",
    total: int | None = None,
    *,
    file: Any = None,
) -> list:
    """Run ``task(lo, hi)`` for each chunk on the active joblib backend; results in order.

    Parameters
    ----------
    task : callable
        ``task(lo, hi) -> result`` for repeats ``lo .. hi-1``. It is pickled for process and
        cluster backends (cloudpickle: closures are fine).
    chunks : sequence of (int, int)
        ``(lo, hi)`` with ``lo < hi`` (see :func:`plan_chunks`).
    n_jobs : int or None
        As for :class:`joblib.Parallel`; ``None`` follows the active ``parallel_config``.
    progress : bool, "always" or callable
        ``True``: a tqdm bar on stderr when stderr is a terminal; ``"always"``: a bar even
        when it is not; ``False``: none; a callable: ``progress(done, total)`` after each
        finished task, ``done`` the repeats finished so far.
    desc : str
        The bar's label.
    total : int, optional
        The number of repeats (default: the sum of the chunk sizes).
    file : file-like, optional
        Where the bar is drawn (default stderr).

    Returns
    -------
    list
        ``[task(lo, hi) for (lo, hi) in chunks]``, in chunk order.

    Notes
    -----
    joblib counts finished *tasks*, not which ones finished; the bar shows the repeats of the
    smallest chunks that many tasks could hold, so it never runs ahead of the work, it is
    exact for one-repeat chunks, and it ends at ``total`` when all tasks are done.
    """
    from joblib import delayed

    chunks = [(int(lo), int(hi)) for lo, hi in chunks]
    for lo, hi in chunks:
        if not 0 <= lo < hi:
            raise ValueError(f"chunks must be (lo, hi) with 0 <= lo < hi, got {(lo, hi)!r}")
    sizes = sorted(hi - lo for lo, hi in chunks)
    done_by_tasks = [0]
    for s in sizes:
        done_by_tasks.append(done_by_tasks[-1] + s)
    if total is None:
        total = done_by_tasks[-1]
    if progress not in (True, False, "always") and not callable(progress):
        raise ValueError(f"progress must be True, False, 'always' or a callable, got {progress!r}")
    bar = _Bar(progress, int(total), desc, file)
    try:
        if not chunks:
            return []
        cls = _parallel_class()
        # batch_size=1: one task per dispatch, so the bar moves per task (per repeat for the
        # one-repeat chunks of plan_chunks); cheap work comes in one chunk per worker instead
        par = cls(n_jobs=n_jobs, return_as="list", verbose=0, batch_size=1)
        par._lcore_bar = bar
        par._lcore_done_by_tasks = done_by_tasks
        portable = _Portable(task)
        out = par(delayed(portable)(lo, hi) for lo, hi in chunks)
        bar.set(done_by_tasks[-1])
        return out
    finally:
        bar.close()


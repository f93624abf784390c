"""Make a lookup table: train the first n Sobol configurations of a space, journal, assemble.

Work is parallel over configurations with joblib (one torch thread per worker; any joblib
backend, e.g. dask or ray, spreads it over a cluster). Each finished configuration is appended
to a JSON-lines journal and made durable (flush + fsync) before the next one is counted, so a
run stopped at any moment (kill -9, power loss) resumes where it stood: rerunning the same
command skips the finished rows and produces the same table. A journal made for another space,
preset, seed, epoch count, dataset, batch size, architecture or training recipe is refused (every
header field but ``created`` must agree). The header is written to a temporary file and linked
into place, so a journal never exists without its whole header; a journal left empty or with a
torn header by an older version (no row can follow an incomplete header) is rewritten on resume.
Every line is checked when read: a tampered line is a :class:`JournalError` naming its number.

Journal layout (one JSON object per line):

- line 1, the header: ``{"format": "lcore-pretrain-journal/1", "preset", "space", "seed",
  "epochs", "family", "batch_size", "data", "architecture", "training", "created"}``;
- ``{"type": "session", ...}`` each time a run opens the journal (date, device, versions, argv);
- ``{"type": "row", "row": i, "unit", "config", "seed", "acc", "time", "status",
  "epochs_done", "error", "device", "finished"}`` per finished configuration (NaN as null).

The table (:func:`assemble`) is written atomically by :meth:`lcore.table.LookupTable.save`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import numpy as np

from lcore.space import Space

from .data import MNIST_LICENSE, Dataset
from .models import ARCHITECTURE
from .train import TRAINING, ModelFn, resolve_device, train_configuration

__all__ = [
    "JOURNAL_FORMAT",
    "JournalError",
    "Journal",
    "sobol_points",
    "row_seed",
    "generate",
    "assemble",
    "default_journal_path",
    "check_output_path",
]

JOURNAL_FORMAT = "lcore-pretrain-journal/1"
# header fields that must agree for a journal to be resumed
_IDENTITY = ("format", "preset", "space", "seed", "epochs", "family", "batch_size",
             "architecture", "training")
# header fields a journal must have, with their JSON types
_HEADER_TYPES = {"format": str, "preset": str, "space": dict, "seed": int, "epochs": int,
                 "family": str, "batch_size": int}


class JournalError(ValueError):
    """A journal that cannot be resumed by this run (another space, seed, data, or corrupt)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in ("lcore", "numpy", "torch", "torchvision", "joblib"):
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def sobol_points(n: int, d: int) -> np.ndarray:
    """The first ``n`` unscrambled Sobol points in ``d`` dimensions, shape (n, d) float64."""
    try:
        from lcore.qmc import sobol
    except ImportError:  # pragma: no cover - lcore.qmc ships with lcore; scipy gives the same bits
        from scipy.stats import qmc

        return qmc.Sobol(d, scramble=False).random(n)
    return sobol(n, d)


def row_seed(seed: int, row: int) -> int:
    """The seed of row ``row``: ``SeedSequence(seed, spawn_key=(row,))``, 32 bits.

    Independent of which worker trains the row and of ``n``, so a resumed or extended run gives
    every row the seed it would have had.
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(row),))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def default_journal_path(out: str | os.PathLike) -> str:
    """``T.npz`` -> ``T.journal.jsonl`` next to the table."""
    out = os.fspath(out)
    base = out[:-4] if out.endswith(".npz") else out
    return base + ".journal.jsonl"


def _nan_to_none(values: Iterable[float]) -> list[float | None]:
    return [None if (v is None or math.isnan(v)) else float(v) for v in values]


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class Journal:
    """An append-only JSON-lines record of finished configurations.

    Parameters
    ----------
    path : path
        The journal file; created with ``header`` when missing.
    header : dict
        What this run would write as line 1. An existing journal must agree on the identity
        fields (preset, space, seed, epochs, family, batch size) and the data fingerprint, or
        :class:`JournalError` is raised.

    Attributes
    ----------
    header : dict
        The header as stored.
    rows : dict of int to dict
        Finished rows by Sobol index.
    sessions : list of dict
        One entry per run that opened the journal.
    """

    def __init__(self, path: str | os.PathLike, header: dict | None = None) -> None:
        self.path = os.fspath(path)
        self.rows: dict[int, dict] = {}
        self.sessions: list[dict] = []
        if os.path.exists(self.path):
            if not os.path.isfile(self.path):
                raise JournalError(f"journal {self.path!r} is not a regular file")
            if header is not None and self._header_never_completed():
                # a run stopped while creating the journal (older lcore wrote the header in
                # place): no row can follow an incomplete header, so nothing is lost
                self.header = dict(header, format=JOURNAL_FORMAT)
                self._create(replace=True)
            else:
                self.header = self._read()
                if header is not None:
                    self._check(header)
        elif header is None:
            raise FileNotFoundError(f"journal {self.path!r} does not exist")
        else:
            self.header = dict(header, format=JOURNAL_FORMAT)
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._create(replace=False)

    def _header_never_completed(self) -> bool:
        """True for an empty file, or one whose only content is a first line with no newline."""
        with open(self.path, "rb") as f:
            head = f.read(1 << 20)
            more = f.read(1)
        return b"\n" not in head and not more

    def _create(self, replace: bool) -> None:
        """Write the header to a temporary file and move it into place whole (durably)."""
        text = json.dumps(self.header, allow_nan=False, separators=(",", ":")) + "\n"
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            if replace:
                os.replace(tmp, self.path)
            else:
                try:  # fails if another run created the journal meanwhile
                    os.link(tmp, self.path)
                except FileExistsError:
                    raise
                except OSError:  # pragma: no cover - a file system without hard links
                    with open(self.path, "x", encoding="utf-8") as f:
                        f.write(text)
                        f.flush()
                        os.fsync(f.fileno())
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _fsync_dir(self.path)
        self._good_end = self._size = len(text.encode("utf-8"))

    @classmethod
    def read(cls, path: str | os.PathLike) -> Journal:
        """Open an existing journal for reading (no header check)."""
        return cls(path, None)

    def _read(self) -> dict:
        with open(self.path, "rb") as f:
            raw = f.read()
        lines = raw.split(b"\n")
        good_end = 0  # byte offset just past the last complete, parseable line
        header = None
        for k, line in enumerate(lines):
            last = k == len(lines) - 1
            if last and line == b"":
                break
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
                if last:  # a line cut short by a crash: drop it, the row will be redone
                    break
                raise JournalError(
                    f"journal {self.path!r} line {k + 1} is not JSON: {line[:80]!r}; the file "
                    "is damaged beyond its last line"
                ) from None
            if last:  # parseable but without its newline: still cut short, redo it
                break
            good_end += len(line) + 1
            if header is None:
                if not isinstance(obj, dict) or obj.get("format") != JOURNAL_FORMAT:
                    raise JournalError(
                        f"{self.path!r} is not an lcore pretraining journal: its first line must "
                        f"have format {JOURNAL_FORMAT!r}"
                    )
                header = obj
                _check_header(obj, self.path)
                d = _space_dim(obj, self.path)
            elif isinstance(obj, dict) and obj.get("type") == "row":
                _check_row(obj, k + 1, self.path, int(header["epochs"]), d)
                self.rows.setdefault(int(obj["row"]), obj)
            elif isinstance(obj, dict) and obj.get("type") == "session":
                self.sessions.append(obj)
            else:
                raise JournalError(
                    f"journal {self.path!r} line {k + 1} is neither a row nor a session "
                    f"record: {line[:80]!r}"
                )
        if header is None:
            raise JournalError(
                f"journal {self.path!r} has no complete header line (a run stopped while "
                "creating it); rerun the pretraining command to recover it"
            )
        self._good_end = good_end
        self._size = len(raw)
        return header

    def _check(self, header: dict) -> None:
        # as JSON stores it (tuples become lists), so that equal settings compare equal
        want = json.loads(json.dumps(dict(header, format=JOURNAL_FORMAT), allow_nan=False))
        for key in _IDENTITY:
            have, need = self.header.get(key), want.get(key)
            if have != need:
                shown_have = _short(have)
                shown_need = _short(need)
                raise JournalError(
                    f"journal {self.path!r} was made for {key} = {shown_have}, but this run has "
                    f"{key} = {shown_need}; resume with the journal's settings, or give another "
                    "--out / --journal (or delete the journal) to start afresh"
                )
        have_fp = (self.header.get("data") or {}).get("fingerprint")
        need_fp = (want.get("data") or {}).get("fingerprint")
        if have_fp != need_fp:
            raise JournalError(
                f"journal {self.path!r} was made on data with fingerprint {have_fp}, but this "
                f"run's data has fingerprint {need_fp} (other images, split, size or seed); "
                "use the journal's data settings, or give another --out / --journal"
            )
        rest = sorted((set(want) | set(self.header)) - set(_IDENTITY) - {"data", "created"})
        for key in [*rest, "data"]:
            have, need = self.header.get(key), want.get(key)
            if have != need:
                raise JournalError(
                    f"journal {self.path!r} was made with {key} = {_short(have)}, but this run "
                    f"has {key} = {_short(need)}; resume with the journal's settings, or give "
                    "another --out / --journal to start afresh"
                )

    def _write_line(self, obj: dict, mode: str = "a") -> None:
        text = json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"
        with open(self.path, mode, encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def open_for_append(self) -> None:
        """Cut a torn last line (left by a crash) so appends start on a line boundary."""
        if getattr(self, "_size", None) is not None and self._good_end != self._size:
            with open(self.path, "r+b") as f:
                f.truncate(self._good_end)
                f.flush()
                os.fsync(f.fileno())
            self._size = self._good_end

    def add_session(self, info: dict) -> None:
        rec = dict(info, type="session")
        self._write_line(rec)
        self.sessions.append(rec)

    def add_row(self, rec: dict) -> None:
        """Append one finished row durably (flush + fsync) and remember it."""
        rec = dict(rec, type="row")
        self._write_line(rec)
        self.rows.setdefault(int(rec["row"]), rec)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_header(h: dict, path: str) -> None:
    """A header line's fields have the types this module writes; else :class:`JournalError`."""
    for key, typ in _HEADER_TYPES.items():
        v = h.get(key)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise JournalError(
                f"journal {path!r} header field {key!r} must be a {typ.__name__}, got "
                f"{_short(v)}; the header is damaged"
            )
    if h["epochs"] < 1 or h["batch_size"] < 1 or h["seed"] < 0:
        raise JournalError(
            f"journal {path!r} header has epochs = {h['epochs']}, batch_size = "
            f"{h['batch_size']}, seed = {h['seed']}; they must be >= 1, >= 1 and >= 0"
        )
    if h.get("data") is not None and not isinstance(h.get("data"), dict):
        raise JournalError(f"journal {path!r} header field 'data' must be an object")


def _space_dim(h: dict, path: str) -> int:
    try:
        return Space.from_dict(h["space"]).d
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise JournalError(
            f"journal {path!r} header holds no valid space: {type(exc).__name__}: {exc}"
        ) from None


def _check_row(r: dict, line: int, path: str, T: int, d: int) -> None:
    """A row record has every field with the right type and length; else JournalError."""
    def bad(what: str):
        return JournalError(f"journal {path!r} line {line}: a row record {what}; the line is "
                            "damaged (delete it to have the row trained again)")

    if not _is_int(r.get("row")) or r["row"] < 0:
        raise bad(f"needs 'row' an int >= 0, got {_short(r.get('row'))}")
    unit, acc, secs = r.get("unit"), r.get("acc"), r.get("time")
    if not isinstance(unit, list) or len(unit) != d or not all(
            _is_num(u) and 0.0 <= u <= 1.0 for u in unit):
        raise bad(f"needs 'unit' a list of {d} numbers in [0, 1], got {_short(unit)}")
    if not isinstance(acc, list) or len(acc) != T or not all(
            a is None or (_is_num(a) and 0.0 <= a <= 1.0) for a in acc):
        raise bad(f"needs 'acc' a list of {T} accuracies in [0, 1] or null, got {_short(acc)}")
    if not isinstance(secs, list) or len(secs) != T or not all(
            _is_num(t) and t >= 0.0 for t in secs):
        raise bad(f"needs 'time' a list of {T} seconds >= 0, got {_short(secs)}")
    if not isinstance(r.get("config"), dict):
        raise bad(f"needs 'config' an object, got {_short(r.get('config'))}")
    if not isinstance(r.get("status"), str):
        raise bad(f"needs 'status' a string, got {_short(r.get('status'))}")
    if not _is_int(r.get("epochs_done")) or not 0 <= r["epochs_done"] <= T:
        raise bad(f"needs 'epochs_done' an int in [0, {T}], got {_short(r.get('epochs_done'))}")
    if r.get("error") is not None and not isinstance(r.get("error"), str):
        raise bad(f"needs 'error' a string or null, got {_short(r.get('error'))}")


def _short(v: Any) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= 120 else s[:117] + "..."


def _train_row(
    row: int,
    config: dict,
    data: Dataset,
    epochs: int,
    seed: int,
    family: str,
    device: str,
    batch_size: int,
    threads: int,
    model_fn: ModelFn | None,
    parent: int | None = None,
) -> tuple[int, dict]:
    _watch_parent(parent)
    res = train_configuration(
        config, data, epochs, seed, family=family, device=device, batch_size=batch_size,
        num_threads=threads, model_fn=model_fn,
    )
    res["device"] = str(resolve_device(device))
    return row, res


_WATCHDOG: list = []


def _watch_parent(parent: int | None, child: bool = False, interval: float = 0.5) -> None:
    """In a worker process forked or spawned by ``parent`` (loky, multiprocessing), start a
    daemon thread that ends this process once ``parent`` is gone (killed with -9, say), so
    that no worker outlives the run as an orphan. Does nothing in ``parent`` itself (the
    threading backend) or on a worker that ``parent`` did not start (dask, ray). ``child``
    (loky's worker initializer) says this process is ``parent``'s child: if it has been
    reparented already, the parent died while it started, and it ends at once."""
    if parent is None or _WATCHDOG or os.getpid() == parent:
        return
    if os.getppid() != parent:
        if child:
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # the parent died: nobody waits for this worker's rows

    t = threading.Thread(target=watch, name="lcore-parent-watchdog", daemon=True)
    _WATCHDOG.append(t)
    t.start()


def check_output_path(out: str | os.PathLike, what: str = "out") -> str:
    """The table path that :meth:`LookupTable.save` will write for ``out`` (``.npz`` added
    when missing), after checking that it can be written: its folder exists and takes a new
    file, and it is not a folder. Raises ``ValueError`` naming the path otherwise."""
    path = os.fspath(out)
    if not path:
        raise ValueError(f"{what} must be a file path, got {out!r}")
    if not path.endswith(".npz"):
        path += ".npz"
    if os.path.isdir(path):
        raise ValueError(f"{what} {path!r} is a folder; give a file name such as "
                         f"{os.path.join(path, 'table.npz')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path!r}: its folder {folder!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=folder)
    except OSError as exc:
        raise ValueError(
            f"{what} {path!r} cannot be written: {exc.strerror} in {folder!r}"
        ) from None
    os.close(fd)
    os.unlink(tmp)
    return path


def _family_of(space: Space) -> str:
    return "cifar10" if "c3_filters" in space.names else "mnist"


def _header(space, preset, seed, epochs, family, batch_size, data: Dataset) -> dict:
    return {
        "format": JOURNAL_FORMAT,
        "preset": preset,
        "space": space.to_dict(),
        "seed": int(seed),
        "epochs": int(epochs),
        "family": family,
        "batch_size": int(batch_size),
        "data": data.meta,
        "architecture": ARCHITECTURE,
        "training": TRAINING,
        "created": _now(),
    }


def _parallel(n_jobs: int, backend: str | None, parent: int | None = None):
    import contextlib

    import joblib

    kwargs: dict[str, Any] = {"n_jobs": n_jobs}
    ctx: Any = contextlib.nullcontext()
    if backend in (None, "loky") and n_jobs != 1 and parent is not None \
            and hasattr(joblib, "parallel_config"):
        # every loky worker watches this process from its start, not only once it trains
        ctx = joblib.parallel_config(backend="loky", initializer=_watch_parent,
                                     initargs=(parent, True))
    elif backend is not None:
        kwargs["backend"] = backend
    with ctx:
        try:
            return joblib.Parallel(return_as="generator_unordered", **kwargs), True
        except (TypeError, ValueError):  # joblib < 1.4: ordered generator or a list
            try:
                return joblib.Parallel(return_as="generator", **kwargs), True
            except (TypeError, ValueError):
                return joblib.Parallel(**kwargs), False


class _Progress:
    """tqdm bar with rows done, rows/hour (this session) and ETA; quiet when disabled."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.bar = None
        self.t0 = time.perf_counter()
        self.done0 = initial
        self.done = initial
        self.total = total
        if enabled:
            from tqdm.auto import tqdm

            tty = sys.stderr.isatty()
            self.bar = tqdm(
                total=total, initial=initial, unit="row", desc="pretrain",
                mininterval=0.5 if tty else 30.0, dynamic_ncols=tty, file=sys.stderr,
                bar_format="{desc}: {n}/{total} rows |{bar}| {elapsed}{postfix}",
            )
            self.bar.set_postfix_str("rows/h=?, ETA=?")

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return (self.done - self.done0) / dt * 3600.0 if dt > 0 else 0.0

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            r = self.rate()
            left = self.total - self.done
            eta = left / r * 3600.0 if r > 0 else float("inf")
            eta_s = "?" if not math.isfinite(eta) else _hms(eta)
            self.bar.set_postfix_str(f"rows/h={r:.0f}, ETA={eta_s}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def generate(
    space: Space,
    data: Dataset,
    n: int,
    epochs: int,
    out: str | os.PathLike | None = None,
    journal: str | os.PathLike | None = None,
    preset: str | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    device: str = "auto",
    backend: str | None = None,
    batch_size: int = 64,
    threads_per_worker: int = 1,
    family: str | None = None,
    model_fn: ModelFn | None = None,
    progress: bool = True,
    meta: dict | None = None,
    on_row: Callable[[int, dict], None] | None = None,
):
    """Train the first ``n`` Sobol configurations of ``space`` and return the table.

    Parameters
    ----------
    space : Space
        The hyperparameter space; row ``i`` is Sobol point ``i`` (first point included).
    data : Dataset
        The fixed train / validation split.
    n, epochs : int
        Rows and epochs (T).
    out : path, optional
        Where to save the table (``.npz``, atomic); None saves nothing.
    journal : path, optional
        The journal; default :func:`default_journal_path` of ``out`` (required without ``out``).
    preset : str, optional
        The preset's name, recorded and checked on resume (default ``space.name``).
    seed : int
        Base seed; row ``i`` trains with :func:`row_seed` ``(seed, i)``.
    n_jobs : int
        joblib workers (each with ``threads_per_worker`` torch threads).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    backend : str, optional
        joblib backend (default loky; ``"dask"`` / ``"ray"`` once registered with joblib).
    family : {"mnist", "cifar10"}, optional
        Model family; default from the space's hyperparameters.
    model_fn : callable, optional
        Replaces the paper model (see :func:`lcore.pretrain.train.train_configuration`).
    progress : bool
        Show a tqdm bar (rows done, rows/hour, ETA).
    meta : dict, optional
        Extra entries for the table's ``meta``.
    on_row : callable, optional
        ``on_row(row, record)`` after each row is journaled.

    Returns
    -------
    LookupTable
        The n x epochs table (also saved to ``out`` when given).
    """
    # every argument is checked before anything is written
    for arg, v, lo in (("n", n, 1), ("epochs", epochs, 1), ("batch_size", batch_size, 1),
                       ("threads_per_worker", threads_per_worker, 1), ("seed", seed, 0)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{arg} must be an int >= {lo}, got {v!r}")
    if n > 2**31 - 1 or epochs > 100_000:
        raise ValueError(f"n must be < 2**31 and epochs <= 100000, got n = {n}, "
                         f"epochs = {epochs}")
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) \
            or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be an int >= 1 or -1 (all cores), got {n_jobs!r}")
    if out is None and journal is None:
        raise ValueError("give out (the table's path) or journal (the journal's path)")
    if not isinstance(space, Space):
        raise TypeError(f"space must be a lcore.space.Space, got {type(space).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a lcore.pretrain.data.Dataset, got {type(data).__name__}")
    family = family or _family_of(space)
    if family not in ("mnist", "cifar10"):
        raise ValueError(f"family must be 'mnist' or 'cifar10', got {family!r}")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"backend must be a joblib backend name or None, got {backend!r}")
    preset = preset or space.name
    resolve_device(device)  # a device that is not there fails here, not in every worker
    out = None if out is None else check_output_path(out)
    journal_path = os.fspath(journal) if journal is not None else default_journal_path(out)
    header = _header(space, preset, seed, epochs, family, batch_size, data)
    jr = Journal(journal_path, header)
    jr.open_for_append()
    U = sobol_points(int(n), space.d)
    configs = space.configs(U)
    for i, rec in jr.rows.items():
        if i < n and not np.array_equal(np.asarray(rec["unit"], dtype=np.float64), U[i]):
            raise JournalError(
                f"journal {journal_path!r} row {i} has unit point {rec['unit']}, but Sobol "
                f"point {i} is {U[i].tolist()}; the journal was not made by this space"
            )
    todo = [i for i in range(int(n)) if i not in jr.rows]
    jr.add_session({"started": _now(), "n": int(n), "todo": len(todo), "n_jobs": int(n_jobs),
                    "device": str(device), "backend": backend, "versions": _versions(),
                    "host": platform.node(), "argv": sys.argv})
    bar = _Progress(int(n), int(n) - len(todo), progress)
    try:
        if todo:
            from joblib import delayed

            parent = os.getpid()
            par, streaming = _parallel(int(n_jobs), backend, parent)
            tasks = (
                delayed(_train_row)(i, configs[i], data, int(epochs), row_seed(seed, i), family,
                                    device, int(batch_size), int(threads_per_worker), model_fn,
                                    parent)
                for i in todo
            )
            # without a streaming joblib, go in chunks so that finished rows reach the journal
            chunks = [tasks] if streaming else _chunks(tasks, max(1, 4 * abs(int(n_jobs))))
            for chunk in chunks:
                for i, res in par(chunk):
                    rec = {
                        "row": int(i),
                        "unit": U[i].tolist(),
                        "config": configs[i],
                        "seed": row_seed(seed, i),
                        "acc": _nan_to_none(res["acc"]),
                        "time": [float(t) for t in res["time"]],
                        "status": res["status"],
                        "epochs_done": int(res["epochs_done"]),
                        "error": res["error"],
                        "device": res.get("device"),
                        "finished": _now(),
                    }
                    jr.add_row(rec)
                    bar.update()
                    if on_row is not None:
                        on_row(int(i), rec)
    finally:
        bar.close()
    table = assemble(journal_path, n=int(n), space=space, meta=meta)
    if out is not None:
        table.save(out)
    return table


def _chunks(it, size):
    chunk = []
    for x in it:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def assemble(
    journal: str | os.PathLike,
    n: int | None = None,
    space: Space | None = None,
    partial: bool = False,
    meta: dict | None = None,
):
    """Build the table from a journal.

    Parameters
    ----------
    journal : path
    n : int, optional
        Rows 0 .. n-1 (default: one past the largest journaled row).
    space : Space, optional
        Default: the journal header's space.
    partial : bool
        Allow missing rows: the table holds the finished rows among 0 .. n-1 in Sobol order,
        and ``meta["partial"]`` is True with ``meta["rows"]`` the Sobol indices it holds.
        Without ``partial``, a missing row is an error.
    meta : dict, optional
        Extra ``meta`` entries.

    Returns
    -------
    LookupTable
    """
    from lcore.table import LookupTable

    jr = Journal.read(journal)
    h = jr.header
    if space is None:
        space = Space.from_dict(h["space"])
    T = int(h["epochs"])
    if n is None:
        n = max(jr.rows) + 1 if jr.rows else 0
    present = sorted(i for i in jr.rows if i < n)
    missing = int(n) - len(present)
    if missing and not partial:
        first = next(i for i in range(int(n)) if i not in jr.rows)
        raise ValueError(
            f"journal {os.fspath(journal)!r} holds {len(present)} of the {n} rows (first "
            f"missing: row {first}); finish the run, or pass partial=True (--partial) for an "
            "inspection table marked partial"
        )
    if not present:
        raise ValueError(f"journal {os.fspath(journal)!r} holds no finished row below n = {n}")
    recs = [jr.rows[i] for i in present]
    acc = np.array(
        [[np.nan if a is None else a for a in r["acc"]] for r in recs], dtype=np.float32
    )
    secs = np.array([r["time"] for r in recs], dtype=np.float32)
    if acc.shape[1] != T:
        raise JournalError(f"journal rows have {acc.shape[1]} epochs, its header says {T}")
    unit = np.array([r["unit"] for r in recs], dtype=np.float64)
    params = space.from_unit(unit)
    for k, r in enumerate(recs):  # what was trained must be what the space maps it to
        cfg = {name: params[name][k].item() for name in space.names}
        if cfg != r["config"]:
            raise JournalError(
                f"journal row {r['row']} trained {r['config']}, but the space maps its unit "
                f"point to {cfg}"
            )
    failures = [
        {"row": int(r["row"]), "epochs_done": int(r["epochs_done"]), "error": r["error"]}
        for r in recs
        if r["status"] != "ok"
    ]
    data_meta = h.get("data") or {}
    sessions = [
        {k: s.get(k) for k in ("started", "n", "todo", "n_jobs", "device", "host", "versions")}
        for s in jr.sessions
    ]
    devices = sorted({str(r.get("device")) for r in recs})
    is_partial = missing > 0
    m: dict[str, Any] = {
        "source": "lcore.pretrain",
        "dataset": data_meta.get("source", "unknown"),
        "data": data_meta,
        "preset": h.get("preset"),
        "model": space.meta.get("model"),
        "family": h.get("family"),
        "architecture": h.get("architecture"),
        "training": h.get("training"),
        "batch_size": int(h.get("batch_size", 64)),
        "T": T,
        "n": len(present),
        "seed": int(h["seed"]),
        "row_seed": "numpy SeedSequence(seed, spawn_key=(row,)).generate_state(1, uint32)[0]",
        "configurations": "row i is unscrambled Sobol point i (first point included) of the "
        "space, mapped by Table I of the paper",
        "device": ", ".join(devices),
        "versions": _versions(),
        "sessions": sessions,
        "date": _now(),
        "n_failed": len(failures),
        "failures": failures,
        "train_hours": float(secs.astype(np.float64).sum() / 3600.0),
        "partial": bool(is_partial),
    }
    if "scaled_ranges" in space.meta:
        m["scaled_ranges"] = space.meta["scaled_ranges"]
    if h.get("family") == "mnist":
        m["license"] = MNIST_LICENSE + "; this table of accuracies is derived from it"
    if "val_class_counts" in data_meta:
        counts = data_meta["val_class_counts"]
        if (not isinstance(counts, list) or not counts
                or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0
                           for c in counts) or sum(counts) <= 0):
            raise JournalError(
                f"journal {journal}: data.val_class_counts must be a non-empty list of "
                f"non-negative ints with a positive sum, got {counts!r}"
            )
        m["chance"] = float(max(counts)) / float(sum(counts))
    if is_partial:
        m["rows"] = [int(i) for i in present]
        m["rows_missing"] = int(missing)
        m["notes"] = (
            f"PARTIAL: {len(present)} of {n} rows finished; an inspection table, not a "
            "finished one"
        )
    if meta:
        m.update(meta)
    try:
        return LookupTable(acc, secs, unit=unit, params=params, space=space, meta=m).validate()
    except (ValueError, TypeError) as exc:  # rows that passed the line checks but not these
        raise JournalError(
            f"journal {os.fspath(journal)!r} does not make a valid table: {exc}"
        ) from None

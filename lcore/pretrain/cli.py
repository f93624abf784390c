"""``lcore pretrain``: make a lookup table by training the first n Sobol configurations.

Example (the shipped table)::

    lcore pretrain --preset mnist_lenet5 --scale small --data-root ../shared/data/MNIST \\
        --n 2000 --epochs 15 --out lcore/data/mnist_lenet5_small.npz \\
        --journal tables/mnist_lenet5_small.journal.jsonl --n-jobs 2 --device cpu

Rerunning the same command after a stop resumes from the journal. ``--partial`` writes a table
from the rows journaled so far (marked partial in its meta) without training anything.

Every option is checked, and the output path tried, before the journal is touched or anything
is trained. ``--out`` names the table file; ``.npz`` is added when missing, and the path printed
at the end is the one written. Errors are one line on stderr (``lcore pretrain: error: ...``)
with exit status 2; an interrupt (Ctrl-C) exits with 130 and the journal resumes on rerun.
"""

from __future__ import annotations

import argparse
import os
import sys

# Defaults per preset: family, split, train / validation images, image side, epochs.
PRESET_DEFAULTS = {
    "mnist_lenet5_small": {"family": "mnist", "split": "test", "n_train": 2000, "n_val": 1000,
                           "image_size": 14, "epochs": 15},
    "mnist_lenet5": {"family": "mnist", "split": "train", "n_train": 55000, "n_val": 5000,
                     "image_size": None, "epochs": 15},
    "cifar10_cnn": {"family": "cifar10", "split": "train", "n_train": 45000, "n_val": 5000,
                    "image_size": None, "epochs": 50},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``lcore pretrain``'s options to ``parser``."""
    parser.add_argument("--preset", required=True,
                        help="space preset: mnist_lenet5, cifar10_cnn or mnist_lenet5_small")
    parser.add_argument("--scale", choices=("full", "small"), default="full",
                        help="'small' picks the CPU-scaled variant of the preset "
                        "(mnist_lenet5 -> mnist_lenet5_small)")
    parser.add_argument("--data-root", required=True,
                        help="folder with the dataset files (MNIST IDX files, or CIFAR-10's "
                        "cifar-10-batches-py); with --download they are fetched into it")
    parser.add_argument("--download", action="store_true",
                        help="download the dataset with torchvision first")
    parser.add_argument("--n", type=int, required=True,
                        help="configurations: the first n Sobol points of the space")
    parser.add_argument("--epochs", type=int, default=None,
                        help="T (default: 15 for MNIST, 50 for CIFAR-10)")
    parser.add_argument("--out", required=True, help="the table to write (.npz)")
    parser.add_argument("--journal", default=None,
                        help="the resumable journal (default: OUT with .journal.jsonl)")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers")
    parser.add_argument("--device", default="auto",
                        help="auto (cuda when available), cpu, cuda or cuda:N")
    parser.add_argument("--backend", default=None,
                        help="joblib backend: loky (default), threading, dask (connects to "
                        "--scheduler) or ray (ray.init() with RAY_ADDRESS)")
    parser.add_argument("--scheduler", default=None,
                        help="dask scheduler address for --backend dask (default: a local "
                        "cluster)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the rows")
    parser.add_argument("--split", choices=("train", "test"), default=None,
                        help="which file set to draw images from (default: test for the small "
                        "scale, train otherwise)")
    parser.add_argument("--n-train", type=int, default=None, help="training images")
    parser.add_argument("--n-val", type=int, default=None, help="validation images")
    parser.add_argument("--image-size", type=int, default=None,
                        help="resize images to SIZE x SIZE (small MNIST: 14)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the fixed train / validation split")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads-per-worker", type=int, default=1,
                        help="torch CPU threads per worker")
    parser.add_argument("--partial", action="store_true",
                        help="train nothing: write OUT from the rows journaled so far, marked "
                        "partial in meta")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _resolve_preset(args) -> str:
    name = args.preset
    if args.scale == "small" and not name.endswith("_small"):
        name = name + "_small"
    if name not in PRESET_DEFAULTS:
        raise ValueError(
            f"--preset/--scale give {name!r}, which has no pretraining preset; known: "
            f"{sorted(PRESET_DEFAULTS)}"
        )
    return name


def _in_package_data(path: str) -> bool:
    import lcore

    pkg_data = os.path.realpath(os.path.join(os.path.dirname(lcore.__file__), "data"))
    return os.path.dirname(os.path.realpath(path)) == pkg_data


def load_dataset(args, defaults: dict):
    """The :class:`~lcore.pretrain.data.Dataset` that ``args`` describe."""
    from .data import load_cifar10, load_mnist, prepare

    family = defaults["family"]
    split = args.split or defaults["split"]
    loader = load_mnist if family == "mnist" else load_cifar10
    images, labels = loader(args.data_root, split=split, download=args.download)
    name = "MNIST" if family == "mnist" else "CIFAR-10"
    n_val = args.n_val if args.n_val is not None else defaults["n_val"]
    n_train = args.n_train if args.n_train is not None else defaults["n_train"]
    n_train = min(n_train, len(labels) - n_val) if args.n_train is None else n_train
    size = args.image_size if args.image_size is not None else defaults["image_size"]
    return prepare(
        images, labels, n_train=n_train, n_val=n_val, size=size, seed=args.split_seed,
        source=f"{name} {split} set ({len(labels)} images)",
    )


def _connect_backend(backend: str | None, scheduler: str | None):
    """Make joblib's dask / ray backends usable; returns a dask client to close, or None."""
    if backend == "dask":
        from dask.distributed import Client  # joblib's "dask" backend uses the live client

        return Client(scheduler) if scheduler else Client()
    if backend == "ray":
        from ray.util.joblib import register_ray

        register_ray()
    return None


def _check_args(args) -> None:
    """Every numeric option in range (``ValueError`` naming the flag), before any work."""
    for flag, lo in (("n", 1), ("epochs", 1), ("batch_size", 1), ("threads_per_worker", 1),
                     ("seed", 0), ("split_seed", 0), ("n_train", 1), ("n_val", 1),
                     ("image_size", 1)):
        v = getattr(args, flag, None)
        if v is not None and v < lo:
            raise ValueError(f"--{flag.replace('_', '-')} must be >= {lo}, got {v}")
    if args.n_jobs == 0 or args.n_jobs < -1:
        raise ValueError(f"--n-jobs must be >= 1 or -1 (all cores), got {args.n_jobs}")
    if args.backend is not None and args.backend not in ("loky", "threading",
                                                         "multiprocessing", "dask", "ray"):
        raise ValueError(f"--backend must be loky, threading, multiprocessing, dask or ray, "
                         f"got {args.backend!r}")


def run(args) -> int:
    """Run ``lcore pretrain`` with parsed ``args``; returns the exit status.

    Errors raise (``ValueError``, ``OSError``, :class:`~lcore.pretrain.generate.JournalError`);
    :func:`main` turns them into one line on stderr.
    """
    from lcore.space import preset as space_preset

    from .generate import assemble, check_output_path, default_journal_path, generate

    try:
        name = _resolve_preset(args)
    except ValueError as e:
        print(f"lcore pretrain: error: {e}", file=sys.stderr)
        return 2
    defaults = PRESET_DEFAULTS[name]
    if args.partial and _in_package_data(args.out):
        print(
            "lcore pretrain: error: --partial refuses to write into lcore's package data "
            f"({args.out}); a partial table must not become a shipped table",
            file=sys.stderr,
        )
        return 2
    _check_args(args)
    out = check_output_path(args.out, "--out")
    journal = args.journal or default_journal_path(out)
    if args.partial:
        table = assemble(journal, n=args.n, space=space_preset(name), partial=True)
        written = table.save(out)
        print(f"wrote {written}: {table.n} of {args.n} rows x {table.T} epochs "
              f"(partial={table.meta['partial']})")
        return 0
    epochs = args.epochs if args.epochs is not None else defaults["epochs"]
    from .train import resolve_device

    resolve_device(args.device)  # before the data is read
    data = load_dataset(args, defaults)
    client = _connect_backend(args.backend, getattr(args, "scheduler", None))
    try:
        table = generate(
            space_preset(name), data, n=args.n, epochs=epochs, out=out, journal=journal,
            preset=name, seed=args.seed, n_jobs=args.n_jobs, device=args.device,
            backend=args.backend, batch_size=args.batch_size,
            threads_per_worker=args.threads_per_worker, family=defaults["family"],
            progress=not args.no_progress,
        )
    finally:
        if client is not None:
            client.close()
    print(f"wrote {out}: {table.n} rows x {table.T} epochs, {table.meta['n_failed']} "
          f"failed rows, {table.meta['train_hours']:.2f} h of training")
    return 0


def main(argv=None) -> int:
    """``python -m lcore.pretrain``; errors are one line on stderr and exit status 2."""
    parser = argparse.ArgumentParser(
        prog="lcore pretrain", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("lcore pretrain: interrupted; rerun the same command to resume from the journal",
              file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"lcore pretrain: error: {msg}", file=sys.stderr)
        return 2

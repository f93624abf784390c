"""Build the shipped real tables (Baker et al. 2018, TaskSet via DyHPO) from their files.

    python tables/build_real_tables.py DATA_DIR [--out lcore/data]

DATA_DIR holds ``baker2018/`` (the four CSVs and LICENSE) and ``taskset/`` (the six task JSON
files and LICENSE). Each file goes through ``lcore.import_table`` with default options; the
tables are saved as compressed ``.npz`` (float32 curves) under ``--out`` with the sources'
licence notices beside them, and a summary line per table is printed.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import lcore  # noqa: E402

BAKER = ("metaqnn_cifar10", "metaqnn_svhn", "deep_resnets_cifar10", "lstm_ptb")


def taskset_name(path: str) -> str:
    """Shipped name of a TaskSet task file: ``taskset_<task without its family prefix>``."""
    stem = os.path.splitext(os.path.basename(path))[0]
    stem = stem.replace("FixedTextRNNClassification_", "")
    return "taskset_" + stem.lower()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="folder with baker2018/ and taskset/")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "lcore", "data"))
    args = ap.parse_args(argv)
    jobs = []
    for stem in BAKER:
        p = os.path.join(args.data, "baker2018", stem + ".csv")
        if not os.path.isfile(p):
            raise SystemExit(f"missing {p}")
        jobs.append(("baker2018", p, "baker2018_" + stem))
    tasks = sorted(glob.glob(os.path.join(args.data, "taskset", "*.json")))
    if len(tasks) != 6:
        raise SystemExit(f"expected the 6 TaskSet task files in {args.data}/taskset, found "
                         f"{len(tasks)}")
    jobs += [("taskset", p, taskset_name(p)) for p in tasks]
    os.makedirs(args.out, exist_ok=True)
    for fmt, lic in (("baker2018", "BAKER2018_LICENSE.txt"), ("taskset", "TASKSET_LICENSE.txt")):
        src = os.path.join(args.data, fmt, "LICENSE")
        if not os.path.isfile(src):
            raise SystemExit(f"missing the licence notice {src}")
        shutil.copyfile(src, os.path.join(args.out, lic))
    for fmt, path, name in jobs:
        t = lcore.import_table(fmt, path)
        t.meta["shipped_name"] = name
        if fmt == "taskset" and "_imdb_" in name:
            # IMDB sentiment has two classes: a model that guesses has cross-entropy ln 2
            t.meta["chance"] = math.log(2.0)
            t.meta["chance_note"] = ("chance-level cross-entropy of the two IMDB classes "
                                     "(ln 2), used as ETR-1's r")
        out = t.save(os.path.join(args.out, name + ".npz"))
        size = os.path.getsize(out) / 1024
        print(f"{name}: n={t.n} T={t.T} d={t.d} {t.metric} ({t.mode}) failed runs "
              f"{t.meta['n_failed_runs']}  {size:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

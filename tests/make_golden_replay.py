"""Write tests/data/golden_replay.npz: per-repeat results of the replay as it was before the
one-engine rewrite (commit d9a907a), for every built-in rule x both choosers x every
``terminated`` mode on the shipped tables and an awkward synthetic table.

Run once, from the repository root, with the old engine built:  python tests/make_golden_replay.py
tests/test_golden.py checks that today's engine (n_workers=1) reproduces it bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from golden_cases import CASES, case_table  # noqa: E402

import lcore  # noqa: E402


def main() -> None:
    out = {}
    for key, (table_name, rule, params, chooser, terminated, kw) in CASES.items():
        table = case_table(table_name)
        res = lcore.simulate(table, rule=rule, chooser=chooser, terminated=terminated,
                             progress=False, trace=True, **kw, **params)
        for f in ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained",
                  "best_acc", "n_harmful_stops"):
            out[f"{key}|{f}"] = np.asarray(getattr(res, f))
        for i, tr in enumerate(res.traces):
            for f in ("row", "epochs", "stopped", "reported", "clock"):
                out[f"{key}|trace{i}|{f}"] = np.asarray(tr[f])
        print(key, res.success.mean(), res.n_evaluated.mean())
    np.savez_compressed(Path(__file__).parent / "data" / "golden_replay.npz", **out)


if __name__ == "__main__":
    main()

"""Per-decision cost of the C twins of Syne Tune's and Ray Tune's median rules in the replay
loop, against the number n of trials a repeat has seen.

Setting: a synthetic table (20,000 rows, T = 20 epochs), the random chooser, one worker and
then four, a goal no row reaches early (the best row's value, so a repeat runs until
max_evals = n trials), 3 repeats. Each rule is set so that it never stops but does all its
work per decision (``synetune-median`` with ``rank_cutoff=1``: rank + insert at every epoch;
``ray-median`` with ``min_samples_required`` above n: its running mean + a heap insert at
every epoch); then every run has the same trials and epochs as the reference, Optuna's
ThresholdPruner twin with a bound nothing crosses (a C decide that does one comparison).

    cost per decision = (seconds(rule) - seconds(reference)) / decisions

where decisions = the epochs t < T trained. Also the default-parameter rules (which stop
trials, so fewer decisions) as seconds per decision including the loop.

    python bench/peer_median.py [--quick]     # writes bench/results/peer_median.json
"""

from __future__ import annotations

import sys

import numpy as np
from _common import best_time, write

import lcore
from lcore.stopping import OptunaThreshold, RayMedian, SyneTuneMedian
from lcore.table import synthetic


def main(quick: bool = False) -> str:
    T = 20
    t = synthetic("mnist_lenet5", n=20000, epochs=T, seed=0, failure_rate=0.0)
    goal = float(np.nanmax(t.acc[:, T - 1]))
    sizes = [100, 1000] if quick else [100, 1000, 5000, 20000]
    repeat = 3 if quick else 9
    rows = []
    for W in (1, 4):
        for n in sizes:
            kw = dict(goal=goal, repeats=3, seed=0, chooser="random", max_evals=n,
                      n_workers=W, progress=False, trace=True)
            ref = OptunaThreshold(lower=-1e300)
            base = lcore.simulate(t, rule=ref, **kw)
            decisions = int(sum(np.minimum(tr["epochs"], T - 1).sum() for tr in base.traces))
            t_ref = best_time(lambda r=ref, k=kw: lcore.simulate(t, rule=r, **k),
                              repeat=repeat)["min"]
            for label, rule in (
                ("synetune-median (rank_cutoff=1: never stops)", SyneTuneMedian(rank_cutoff=1.0)),
                ("ray-median (min_samples_required > n: never stops)",
                 RayMedian(grace_period=1, min_samples_required=10**9)),
            ):
                res = lcore.simulate(t, rule=rule, **kw)
                assert res.n_stopped.sum() == 0
                assert np.array_equal(res.epochs_trained, base.epochs_trained)
                sec = best_time(lambda r=rule, k=kw: lcore.simulate(t, rule=r, **k),
                                repeat=repeat)["min"]
                rows.append({"rule": label, "n_workers": W, "n_trials": n,
                             "decisions": decisions, "seconds": sec, "reference_seconds": t_ref,
                             "us_per_decision": 1e6 * (sec - t_ref) / decisions})
                print(rows[-1], flush=True)
            for label, rule in (("synetune-median (defaults)", SyneTuneMedian()),
                                ("ray-median (grace_period=1)", RayMedian(grace_period=1))):
                res = lcore.simulate(t, rule=rule, **kw)
                dec = int(sum(np.minimum(tr["epochs"], T - 1).sum() for tr in res.traces))
                sec = best_time(lambda r=rule, k=kw: lcore.simulate(t, rule=r, **k),
                                repeat=repeat)["min"]
                rows.append({"rule": label, "n_workers": W, "n_trials": n, "decisions": dec,
                             "n_stopped": int(res.n_stopped.sum()), "seconds": sec,
                             "us_per_decision_with_loop": 1e6 * sec / dec})
                print(rows[-1], flush=True)
    return write("peer_median", {"T": T, "table_rows": t.n, "repeats": 3, "rows": rows})


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))

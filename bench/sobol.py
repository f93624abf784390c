"""Time lcore.sobol against scipy.stats.qmc.Sobol (same run, same machine).

Each row times the whole call a user makes: engine construction (direction numbers,
and the scramble when on) plus drawing ``n`` points into a fresh array, for
``lcore.sobol(n, d, scramble=...)`` and ``scipy.stats.qmc.Sobol(d, scramble=...).random(n)``.
A third timing, ``lcore_out``, writes into a preallocated array (``out=``).
Unscrambled rows also check that both outputs are bit-identical.

    python bench/sobol.py            # writes bench/results/sobol.json
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from _common import best_time, write
from scipy.stats import qmc

import lcore
from lcore.qmc import sobol

SHAPES = [(2**20, 9), (20_000, 9), (2**16, 100), (1024, 1111), (2**20, 1), (256, 21201)]


def scipy_sobol(n: int, d: int, scramble: bool) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n not a power of 2
        return qmc.Sobol(d, scramble=scramble, rng=0).random(n)


def time_shape(n: int, d: int, scramble: bool, quick: bool) -> tuple[dict, dict, dict]:
    out = np.empty((n, d))
    kw = dict(repeat=3 if quick else 7, min_time=0.0 if quick else 0.5)
    t_lc = best_time(lambda: sobol(n, d, scramble=scramble, seed=0), **kw)
    t_out = best_time(lambda: sobol(n, d, scramble=scramble, seed=0, out=out), **kw)
    t_sp = best_time(lambda: scipy_sobol(n, d, scramble), **kw)
    return t_lc, t_out, t_sp


def main() -> None:
    quick = "--quick" in sys.argv
    rows = []
    for n, d in SHAPES:
        for scramble in (False, True):
            if not scramble:
                same = sobol(n, d).tobytes() == scipy_sobol(n, d, False).tobytes()
                if not same:
                    raise SystemExit(f"lcore and scipy differ at n={n}, d={d}")
            t_lc, t_out, t_sp = time_shape(n, d, scramble, quick)
            row = {
                "n": n,
                "d": d,
                "scramble": scramble,
                "lcore_s": t_lc["min"],
                "lcore_out_s": t_out["min"],
                "scipy_s": t_sp["min"],
                "ratio_scipy_over_lcore": t_sp["min"] / t_lc["min"],
                "bit_identical": True if not scramble else None,
                "lcore_median_s": t_lc["median"],
                "scipy_median_s": t_sp["median"],
            }
            rows.append(row)
            print(
                f"n={n:>8} d={d:>5} scramble={scramble!s:5}  lcore {t_lc['min'] * 1e3:9.3f} ms"
                f"  (out= {t_out['min'] * 1e3:9.3f} ms)  scipy {t_sp['min'] * 1e3:9.3f} ms"
                f"  ratio {row['ratio_scipy_over_lcore']:6.2f}",
                flush=True,
            )
    goal = next(r for r in rows if (r["n"], r["d"], r["scramble"]) == (2**20, 9, False))
    payload = {
        "description": "lcore.sobol vs scipy.stats.qmc.Sobol(...).random(n): seconds per call "
        "(min over repeats), construction included; ratio = scipy / lcore (> 1: lcore faster)",
        "lcore_build": "setup.py defaults (-O3), no -march=native",
        "goal": {
            "shape": [2**20, 9],
            "target": "ratio >= 1",
            "ratio": goal["ratio_scipy_over_lcore"],
            "met": goal["ratio_scipy_over_lcore"] >= 1.0,
        },
        "rows": rows,
        "lcore_version": lcore.__version__,
    }
    print(write("sobol", payload, packages=("scipy",)))


if __name__ == "__main__":
    main()

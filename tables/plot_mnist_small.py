"""Fig. 1-style panel of a pretraining table: every learning curve, the top 0.5 %, late risers.

    python tables/plot_mnist_small.py [TABLE.npz | JOURNAL.jsonl] [--out docs/img/x.png]

Without a path: lcore/data/mnist_lenet5_small.npz once it exists, else the journal.

A journal is assembled on the fly (rows finished so far, marked partial in the title).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load(path):
    if path.endswith(".jsonl"):
        from lcore.pretrain.generate import assemble

        return assemble(path, partial=True)
    from lcore.table import load_table

    return load_table(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    npz = os.path.join(ROOT, "lcore", "data", "mnist_lenet5_small.npz")
    ap.add_argument("table", nargs="?",  # the finished table, else the journal so far
                    default=npz if os.path.exists(npz) else
                    os.path.join(HERE, "mnist_lenet5_small.journal.jsonl"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "mnist_small_curves.png"))
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = load(args.table)
    acc = t.acc.astype(np.float64)
    T = t.T
    chance = float(t.meta.get("chance", 0.1))
    final = np.nan_to_num(acc[:, -1], nan=0.0)
    best = np.nan_to_num(np.nanmax(np.where(np.isnan(acc), -1, acc), axis=1), nan=0.0)
    k = max(1, math.ceil(0.005 * t.n))
    top = np.argsort(-final, kind="stable")[:k]
    untrainable = best < chance + 0.05
    # late risers as LookupTable.summary counts them (lcore table info)
    e = t.summary()["late_riser_epoch"]
    early = acc[:, e - 1]
    late = (np.nan_to_num(early, nan=0.0) < chance + 0.2) & (final >= 0.6) & (T > e)
    epochs = np.arange(1, T + 1)

    fig, (ax, axh) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for i in range(t.n):
        ax.plot(epochs, acc[i], color="0.6", lw=0.4, alpha=0.35, zorder=1)
    for i in np.flatnonzero(late):
        ax.plot(epochs, acc[i], color="tab:blue", lw=0.8, alpha=0.8, zorder=2)
    for i in top:
        ax.plot(epochs, acc[i], color="tab:red", lw=1.6, zorder=3)
    ax.axhline(chance, color="k", ls=":", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_xlim(1, T)
    ax.set_ylim(0, 1)
    from matplotlib.lines import Line2D

    ax.legend(
        [Line2D([], [], color="0.6"), Line2D([], [], color="tab:blue"),
         Line2D([], [], color="tab:red", lw=1.6), Line2D([], [], color="k", ls=":")],
        [f"all {t.n} configurations", f"late risers ({late.sum()}: < chance + 0.2 at epoch {e}, "
         "final >= 0.6)", f"top 0.5 % ({k})", f"chance ({chance:.3f})"],
        loc="lower right", fontsize=8,
    )
    partial = " (PARTIAL: rows finished so far)" if t.meta.get("partial") else ""
    ax.set_title(f"{t.meta.get('preset', '')}: {t.n} Sobol configurations x {T} epochs"
                 f"{partial}", fontsize=10)
    axh.hist(final, bins=40, range=(0, 1), color="0.5")
    thr = final[top[-1]]
    axh.axvline(thr, color="tab:red", lw=1.2, label=f"top 0.5 % threshold {thr:.3f}")
    axh.set_xlabel(f"final accuracy (epoch {T})")
    axh.set_ylabel("configurations")
    axh.set_title(f"untrainable (best < chance + 0.05): {100 * untrainable.mean():.1f} %",
                  fontsize=10)
    axh.legend(fontsize=8, loc="upper left")
    fig.text(0.01, 0.01, "MNIST test images (LeCun, Cortes, Burges; CC BY-SA 3.0), 2,000 train "
             "/ 1,000 validation at 14x14; lcore.pretrain on a 2-core CPU", fontsize=7,
             color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}: n={t.n}, top0.5% >= {thr:.4f}, untrainable "
          f"{100 * untrainable.mean():.1f} %, late risers {int(late.sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

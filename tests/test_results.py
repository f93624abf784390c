"""lcore.results: summaries, units, censored repeats in figures, ECDF / Kaplan-Meier,
best-so-far curves, persistence of traces, titles."""

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import lcore  # noqa: E402
from lcore.results import (  # noqa: E402
    Results,
    ResultsList,
    box_stats,
    compare,
    format_summary,
    plot_anytime,
    plot_curves,
    plot_ecdf,
    plot_summary,
    plot_time_to_goal,
    table_meta,
)
from lcore.table import synthetic  # noqa: E402

R, K = 10, 3  # rule "etr2(p=0.95)" misses the goal in K of R repeats

SETTINGS = {
    "goal": 0.9, "goal_spec": "top0.5%", "table": "T", "chooser": "rf-ei",
    "chooser_params": {}, "n_init": 1, "max_evals": 100, "max_time": None,
    "terminated": "report", "objective": "final", "repeats": R, "seed_entropy": "0",
    "seed_spawn_key": [],
    "table_meta": {"name": "tiny_table", "model": "LeNet-5 style", "data": "2,000 MNIST images",
                   "synthetic": False},
}


def make(rule, ttg, epochs=None, settings=None, traces=None):
    ttg = np.asarray(ttg, dtype=float)
    ok = np.isfinite(ttg)
    arrays = {
        "success": ok, "time_to_goal": ttg, "n_evaluated": np.full(ttg.size, 5),
        "n_stopped": np.full(ttg.size, 2),
        "epochs_trained": np.arange(ttg.size) + 10 if epochs is None else epochs,
        "best_acc": np.where(ok, 0.95, 0.8), "n_harmful_stops": (~ok).astype(int),
    }
    return Results(rule, {}, arrays, dict(SETTINGS, **(settings or {})), traces)


def pair():
    none = make("none", 3600.0 * np.linspace(0.5, 1.4, R))
    ttg = 3600.0 * np.linspace(0.1, 0.8, R)
    ttg[[1, 4, 8]] = np.inf
    return ResultsList([none, make("etr2(p=0.95)", ttg)])


def test_summary_counts_every_repeat_and_the_misses():
    res = pair()
    s = res[1].summary(unit="h")
    assert s["repeats"] == R and s["n_censored"] == K and s["n_reached"] == R - K
    assert s["unit"] == "h" and s["success_rate"] == pytest.approx(0.7)
    # the median over all 10 repeats with 3 misses counted as inf, not over the 7 successes
    allv = np.sort(np.where(np.isfinite(res[1].time_to_goal), res[1].time_to_goal / 3600, 1e9))
    assert s["time_to_goal_median"] == pytest.approx(np.median(allv))
    assert s["time_to_goal_median"] > np.median(res[1].time_to_goal[res[1].success] / 3600)
    assert math.isinf(s["time_to_goal_q75"])  # more than a quarter missed
    assert s["repeats_with_harmful_stops"] == K
    # the same numbers in seconds and minutes
    assert res[1].summary()["time_to_goal_median"] == pytest.approx(
        3600 * s["time_to_goal_median"])
    assert res[1].summary("min")["time_to_goal_q25"] == pytest.approx(60 * s["time_to_goal_q25"])


def test_summary_table_fixed_precision_and_misses():
    text = format_summary(pair(), unit="h")
    lines = text.splitlines()
    assert "median h" in lines[0] and "reached" in lines[0] and "missed" in lines[0]
    row = lines[2].split()
    assert row[0] == "etr2(p=0.95)" and row[1] == f"{R - K}/{R}" and row[2] == str(K)
    assert "not reached" in lines[2]  # q75
    med = row[3]
    assert len(med.split(".")[1]) == 3  # h: always three decimals
    assert pair().summary_table(unit="min").splitlines()[0].count(" min") >= 3
    assert "epochs" in format_summary(pair(), unit="epochs").splitlines()[0]


def test_units_and_their_errors():
    r = pair()[1]
    assert np.allclose(r.time_to_goal_in("min")[r.success], r.time_to_goal[r.success] / 60)
    ep = r.time_to_goal_in("epochs")
    assert np.array_equal(ep[r.success], r.epochs_trained[r.success].astype(float))
    assert np.isinf(ep[~r.success]).all()
    for bad in ("hours", "H", 3):
        with pytest.raises(ValueError, match=r"unit must be one of 's', 'min', 'h', 'epochs'"):
            r.summary(unit=bad)
    with pytest.raises(ValueError, match="unit must be one of"):
        format_summary([r], unit="days")
    with pytest.raises(ValueError, match="method must be 'ecdf' or 'km', got 'cdf'"):
        r.reached_by([1.0], method="cdf")


def test_box_plot_data_carry_all_repeats_and_the_miss_count():
    res = pair()
    stats = box_stats(res, unit="h")
    st = stats[1]
    assert st["n"] == R and st["n_missed"] == K and st["values"].size == R
    level = st["miss_level"]
    finite = res[1].time_to_goal[res[1].success] / 3600
    assert level > max(finite.max(), res[0].time_to_goal.max() / 3600)
    assert np.sum(st["values"] == level) == K
    assert st["med"] == pytest.approx(res[1].summary("h")["time_to_goal_median"])
    assert st["q3"] == level  # > 25 % missed: the box reaches the miss level
    ax = plot_time_to_goal(res, unit="h")
    crosses = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert len(crosses) == 1 and len(crosses[0].get_xdata()) == K
    assert len(set(np.round(crosses[0].get_xdata(), 6))) == K  # side by side, not one mark
    texts = [t.get_text() for t in ax.texts]
    assert f"{K}/{R}\nmissed" in texts and f"0/{R}\nmissed" in texts
    assert "h" in ax.get_ylabel() and "tiny_table" in ax.get_title()
    assert "LeNet-5 style" in ax.get_title() and "chooser rf-ei" in ax.get_title()
    assert ax.get_legend() is not None
    matplotlib.pyplot.close("all")


def test_misses_drawn_at_the_time_budget():
    res = ResultsList(make(r.rule, r.time_to_goal, settings={"max_time": 2 * 3600.0})
                      for r in pair())
    st = box_stats(res, unit="min")[1]
    assert st["miss_level"] == pytest.approx(120.0)
    assert "budget" in st["miss_label"]


def test_ecdf_ends_at_the_share_that_reached_and_km():
    res = pair()
    r = res[1]
    assert r.reached_by([1e9], unit="h")[0] == pytest.approx((R - K) / R)
    assert r.reached_by([0.0])[0] == 0.0
    # without traces or a time budget, censoring is at infinity: KM equals the ECDF
    grid = np.linspace(0, 2, 50)
    assert np.allclose(r.reached_by(grid, "h", "km"), r.reached_by(grid, "h", "ecdf"))
    ax = plot_ecdf(res, unit="h")
    last = [ln.get_ydata()[-1] for ln in ax.lines]
    assert last == pytest.approx([1.0, (R - K) / R])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"etr2(p=0.95) ({K}/{R} missed)" in labels
    assert "h" in ax.get_xlabel()
    matplotlib.pyplot.close("all")


def test_kaplan_meier_with_early_censoring():
    # 4 repeats: goal at 1 and 3; one censored at 2 (its last report), one at 10
    traces = [{"row": np.array([0]), "epochs": np.array([1]), "stopped": np.array([False]),
               "reported": np.array([0.5]), "clock": np.array([c])} for c in (1, 2, 3, 10)]
    r = make("x", [1.0, np.inf, 3.0, np.inf], settings={"repeats": 4}, traces=traces)
    assert r.censoring_times("s").tolist() == [1.0, 2.0, 3.0, 10.0]
    km = r.reached_by([0.5, 1.0, 2.5, 3.0, 20.0], "s", "km")
    # S(1) = 3/4; at 3, 2 at risk (the repeat censored at 2 has left): S = 3/4 * 1/2
    assert km == pytest.approx([0.0, 0.25, 0.25, 1 - 0.375, 1 - 0.375])
    assert r.reached_by([20.0], "s", "ecdf")[0] == 0.5


def trace(clock, reported, epochs=None):
    n = len(clock)
    return {"row": np.arange(n), "epochs": np.asarray(epochs or [1] * n, dtype=np.int32),
            "stopped": np.zeros(n, bool), "reported": np.asarray(reported, float),
            "clock": np.asarray(clock, float)}


def test_best_so_far_unsorted_clock_nan_and_direction():
    # trace order is start order; reports come at unsorted times; a NaN report (dropped)
    tr = trace([5.0, 2.0, 9.0, 7.0], [0.7, 0.4, np.nan, 0.9])
    r = make("x", [7.0], settings={"repeats": 1}, traces=[tr])
    b = r.best_so_far([0.0, 1.9, 2.0, 4.0, 5.0, 8.0, 100.0])
    assert np.isnan(b[0, :2]).all()
    assert b[0, 2:].tolist() == [0.4, 0.4, 0.7, 0.9, 0.9]
    assert r.best_so_far([3.0], unit="min").shape == (1, 1)
    assert r.best_so_far([5.0 / 60], unit="min")[0, 0] == 0.7
    reg = r.best_so_far([2.0, 8.0], regret=True, best=1.0)
    assert reg[0] == pytest.approx([0.6, 0.1])
    rmin = make("x", [7.0], settings={"repeats": 1, "mode": "min"}, traces=[tr])
    assert rmin.best_so_far([2.0, 5.0, 8.0])[0].tolist() == [0.4, 0.4, 0.4]
    assert rmin.best_so_far([8.0], regret=True, best=0.1)[0, 0] == pytest.approx(0.3)
    # epochs: cumulative epochs of the rows reported so far, in time order
    tre = trace([5.0, 2.0, 7.0], [0.7, 0.4, 0.9], epochs=[3, 2, 4])
    re = make("x", [7.0], settings={"repeats": 1}, traces=[tre])
    assert re.best_so_far([1, 2, 4, 5, 9], unit="epochs")[0, 1:].tolist() == [0.4, 0.4, 0.7,
                                                                              0.9]


def test_best_so_far_errors():
    r = pair()[1]
    with pytest.raises(ValueError, match="best_so_far needs traces: run lcore.simulate"):
        r.best_so_far([1.0])
    rt = make("x", [7.0], settings={"repeats": 1}, traces=[trace([1.0], [0.5])])
    with pytest.raises(ValueError, match="regret needs the table's best objective"):
        rt.best_so_far([1.0], regret=True)
    with pytest.raises(ValueError, match="best must be a finite number, got nan"):
        rt.best_so_far([1.0], regret=True, best=float("nan"))
    with pytest.raises(TypeError, match="regret must be True or False, got 1"):
        rt.best_so_far([1.0], regret=1)
    rw = make("x", [7.0], settings={"repeats": 1, "n_workers": 4}, traces=[trace([1.0], [0.5])])
    with pytest.raises(ValueError, match="unit='epochs' for anytime curves needs one worker"):
        rw.best_so_far([1.0], unit="epochs")
    assert rt.best_so_far([1.0], regret=True, best=0.9)[0, 0] == pytest.approx(0.4)
    rtb = make("x", [7.0], settings={"repeats": 1, "table_best": 0.75},
               traces=[trace([1.0], [0.5])])
    assert rtb.best_so_far([1.0], regret=True)[0, 0] == pytest.approx(0.25)


def test_anytime_quantiles_count_unreported_repeats_as_worst():
    trs = [trace([1.0], [0.9]), trace([2.0], [0.5]), trace([3.0], [0.7])]
    r = make("x", [1.0, np.inf, np.inf], settings={"repeats": 3}, traces=trs)
    q = r.anytime_quantiles([1.5, 2.5, 4.0], q=(0.0, 0.5, 1.0))
    # at 1.5 only one repeat has reported: the median is not taken over it alone
    assert np.isnan(q[1, 0]) and q[0, 0] == 0.9 and np.isnan(q[2, 0])
    assert q[1, 1] == 0.5 and q[1, 2] == 0.7 and q[2, 2] == 0.5
    ax = plot_anytime([r], unit="s", log=False)
    assert "best reported accuracy so far" in ax.get_ylabel() and "s" in ax.get_xlabel()
    ax = plot_anytime([r], unit="s", regret=True, best=1.0)
    assert ax.get_yscale() == "log" and "regret" in ax.get_ylabel()
    matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def small_run():
    t = synthetic("mnist_lenet5", n=300, epochs=6, seed=3)
    res = lcore.simulate(t, rule=["none", "etr1"], tau=1, goal="top1%", repeats=6, seed=1,
                         trace=True, progress=False, max_evals=60)
    return t, res


def test_best_so_far_agrees_with_the_replay(small_run):
    t, res = small_run
    for r in res:
        last = r.best_so_far([np.inf])[:, 0]
        assert np.array_equal(last, r.best_acc)
        for i in np.flatnonzero(r.success):
            before = r.best_so_far([np.nextafter(r.time_to_goal[i], 0)])[i, 0]
            at = r.best_so_far([r.time_to_goal[i]])[i, 0]
            assert at >= r.goal and not (before >= r.goal)


def test_traces_keep_every_field_through_save_and_load(tmp_path, small_run):
    _, res = small_run
    r = res[0]
    tr = [dict(x, start=np.zeros(len(x["row"])), worker=np.zeros(len(x["row"]), np.int32))
          for x in r.traces]
    r2 = Results(r.rule, r.rule_params, {f: getattr(r, f) for f in
                                         ("success", "time_to_goal", "n_evaluated", "n_stopped",
                                          "epochs_trained", "best_acc", "n_harmful_stops")},
                 r.settings, tr)
    back = Results.load(r2.save(tmp_path / "r.npz"))
    assert set(back.traces[0]) == set(tr[0])
    assert back.traces[0]["worker"].dtype == np.int32
    assert np.array_equal(back.best_so_far([1.0, 50.0]), r2.best_so_far([1.0, 50.0]),
                          equal_nan=True)


def test_compare_may_differ(small_run):
    _, res = small_run
    a, b = res[1], res[0]
    other = Results(a.rule, a.rule_params, {f: getattr(a, f) for f in
                                            ("success", "time_to_goal", "n_evaluated",
                                             "n_stopped", "epochs_trained", "best_acc",
                                             "n_harmful_stops")},
                    dict(a.settings, terminated="oracle"), None)
    with pytest.raises(ValueError, match="terminated differs: 'oracle' vs 'report'"):
        compare(other, a)
    c = compare(other, a, may_differ=("terminated",))
    assert c["median_ratio"] == 1.0
    with pytest.raises(ValueError, match="may_differ takes setting names among"):
        compare(other, a, may_differ="terminated")
    with pytest.raises(ValueError, match="may_differ takes setting names among"):
        compare(other, a, may_differ=("seed",))
    assert compare(a, b)["n_pairs"] <= a.n_repeats


def test_table_meta_names_the_real_data():
    t = lcore.load_table()
    tm = table_meta(t)
    assert tm["name"] == "mnist_lenet5_small"
    assert "2,000 train / 1,000 val images" in tm["data"] and "14\u00d714" in tm["data"]
    assert "10000 images" not in tm["data"]
    assert tm["best"] == pytest.approx(float(np.nanmax(t.objective())))
    axes = plot_curves(t, n=10)
    title = axes[0].figure.texts[0].get_text()
    assert "mnist_lenet5_small" in title and "14\u00d714" in title
    assert axes[0].get_ylabel() and axes[1].get_xlabel() == "epoch"
    assert axes[0].figure.legends  # one legend below the panels
    matplotlib.pyplot.close("all")


def test_plot_summary_and_methods(small_run):
    _, res = small_run
    axes = plot_summary(res, unit="min")
    assert len(axes) == 2 and "min" in axes[0].get_ylabel() and "min" in axes[1].get_xlabel()
    assert res.plot_ecdf(unit="epochs").get_xlabel() == "simulated time (epochs trained)"
    assert res[0].plot_anytime(unit="epochs") is not None
    assert res.plot(unit="s").get_legend() is not None
    matplotlib.pyplot.close("all")


def test_set_table_fills_titles_and_the_regret_baseline(small_run):
    t, res = small_run
    r = res[0]
    saved = dict(r.settings)
    try:
        r.settings.pop("table_best", None)
        with pytest.raises(ValueError, match="regret needs the table's best objective"):
            r.best_so_far([1.0], regret=True)
        assert r.set_table(t) is r
        assert r.settings["table_best"] == pytest.approx(float(np.nanmax(t.objective())))
        assert r.settings["table_meta"]["name"] == "mnist_lenet5"
        assert np.all(r.best_so_far([1e9], regret=True) >= 0)
        ax = r.plot_anytime(regret=True)
        assert "mnist_lenet5" in ax.get_title()
        matplotlib.pyplot.close("all")
    finally:
        r.settings = saved

import json
import math

import numpy as np
import pytest

import lcore
from lcore.table import LookupTable, list_tables, load_table

SHIPPED_REAL = ["baker2018_metaqnn_cifar10", "baker2018_metaqnn_svhn",
                "baker2018_deep_resnets_cifar10", "baker2018_lstm_ptb",
                "taskset_imdb_patch128_lstm128_avg_bs64",
                "taskset_imdb_patch128_lstm128_embed128_bs64",
                "taskset_imdb_patch32_gru128_bs128", "taskset_imdb_patch32_irnn64_relu_avg_bs128",
                "taskset_imdb_patch32_lstm128_bs128", "taskset_imdb_patch32_vrnn64_relu_avg_bs128"]
META_8 = ("source", "licence", "metric", "mode", "feature_encoding", "features", "time_source")


def loss_table():
    acc = [[2.0, 1.5, 1.0], [3.0, 2.5, np.nan], [2.5, 0.5, 0.8], [9.0, 8.0, 7.5]]
    return LookupTable.from_arrays(acc, np.ones((4, 3)), meta={"metric": "valid_loss",
                                                               "mode": "min"})


def test_mode_and_metric_defaults():
    t = LookupTable.from_arrays([[0.5, 0.6]], [[1.0, 1.0]])
    assert t.mode == "max" and t.metric == "val_accuracy" and t.is_accuracy
    lt = loss_table()
    assert lt.mode == "min" and lt.metric == "valid_loss" and not lt.is_accuracy


def test_validate_checks_range_only_for_accuracy():
    with pytest.raises(ValueError, match=r"acc must lie in \[0, 1\].*meta\['metric'\]"):
        LookupTable.from_arrays([[0.5, 1.5]], [[1.0, 1.0]])
    # a non-accuracy metric in "max" mode (e.g. a reward) takes any finite value
    t = LookupTable.from_arrays([[5.0, -3.0]], [[1.0, 1.0]], meta={"metric": "reward"})
    assert t.is_accuracy is False
    with pytest.raises(ValueError, match=r"must be finite .*acc\[0, 1\] = inf"):
        LookupTable.from_arrays([[1.0, np.inf]], [[1.0, 1.0]], meta={"mode": "min",
                                                                  "metric": "loss"})
    with pytest.raises(ValueError, match="meta\\['mode'\\] must be 'max' or 'min', got 'up'"):
        LookupTable.from_arrays([[0.5]], [[1.0]], meta={"mode": "up"})
    with pytest.raises(ValueError, match="meta\\['metric'\\] must be a string"):
        LookupTable.from_arrays([[0.5]], [[1.0]], meta={"metric": 3})


def test_objective_and_goal_follow_the_direction():
    t = loss_table()
    np.testing.assert_allclose(t.objective("best"), [1.0, 2.5, 0.5, 7.5])
    np.testing.assert_allclose(t.objective("final"), [1.0, np.nan, 0.8, 7.5])
    assert t.resolve_goal("top25%") == pytest.approx(0.8)   # k = 1: the smallest final
    assert t.resolve_goal("top50%") == pytest.approx(1.0)   # k = 2
    assert t.resolve_goal("top50%", objective="best") == pytest.approx(1.0)
    assert t.resolve_goal(0.7) == 0.7
    with pytest.raises(ValueError, match="only 3 rows have an objective"):
        t.resolve_goal("top100%")
    acc = LookupTable.from_arrays([[0.5], [0.9], [0.7]], [[1.0]] * 3)
    assert acc.resolve_goal("top34%") == pytest.approx(0.7)


def test_summary_and_describe_for_a_loss_table():
    s = loss_table().summary()
    assert s["mode"] == "min" and s["metric"] == "valid_loss"
    assert s["untrainable_share"] is None and s["late_risers"] is None
    assert s["goals"]["top0.5%"] == pytest.approx(0.8)
    assert s["top_gap"] == pytest.approx(s["final_acc_quantiles"][0.1] - 0.8)
    text = loss_table().describe()
    assert "untrainable" not in text and "late risers" not in text and "chance" not in text
    assert "mode: min (lower is better)" in text and "final valid_loss" in text
    acc_text = load_table("baker2018_metaqnn_cifar10").describe()
    assert "untrainable" in acc_text and "mode: max" in acc_text
    assert "epoch" in acc_text and "not measured" in acc_text


def test_saved_loss_table_keeps_its_direction(tmp_path):
    p = loss_table().save(tmp_path / "loss.npz")
    t = load_table(p)
    assert t.mode == "min" and t.resolve_goal("top25%") == pytest.approx(0.8)


def test_list_tables_details():
    names = list_tables()
    for n in SHIPPED_REAL:
        assert n in names
    info = {d["name"]: d for d in list_tables(details=True)}
    assert [d for d in info] == names
    d = info["baker2018_lstm_ptb"]
    assert (d["n"], d["T"], d["metric"], d["mode"]) == (280, 59, "val_perplexity", "min")
    assert "Baker" in d["source"] and "MIT" in d["licence"]
    d = info["taskset_imdb_patch32_gru128_bs128"]
    assert (d["n"], d["T"], d["metric"], d["mode"]) == (1000, 50, "valid_loss", "min")
    assert info["baker2018_metaqnn_svhn"]["mode"] == "max"


@pytest.mark.parametrize("name", SHIPPED_REAL)
def test_shipped_real_tables(name):
    t = lcore.load_table(name)
    t.validate()
    for k in META_8:
        assert k in t.meta, k
    assert t.unit is not None and t.unit.shape[0] == t.n
    assert t.unit.min() >= 0.0 and t.unit.max() <= 1.0
    assert t.meta["time_source"] == "one unit per epoch" and t.meta["time_unit"] == "epoch"
    json.dumps(t.meta)
    if name.startswith("taskset_"):
        assert t.mode == "min" and t.metric == "valid_loss"
        assert t.meta["chance"] == pytest.approx(math.log(2))
    elif name == "baker2018_lstm_ptb":
        assert t.mode == "min" and t.metric == "val_perplexity"
    else:
        assert t.mode == "max" and t.meta["chance"] == 0.1


def test_shipped_licence_notices():
    import os

    from lcore.table import DATA_DIR
    baker = open(os.path.join(DATA_DIR, "BAKER2018_LICENSE.txt")).read()
    assert "MIT License" in baker and "MITAutoML" in baker
    ts = open(os.path.join(DATA_DIR, "TASKSET_LICENSE.txt")).read()
    assert "Apache License" in ts and "Version 2.0" in ts


def test_simulate_runs_the_grid_on_a_shipped_accuracy_table():
    t = lcore.load_table("baker2018_metaqnn_cifar10")
    rules = [lcore.stopping.get_rule("none"), lcore.stopping.get_rule("etr1", tau=1),
             lcore.stopping.get_rule("etr2", p=0.9), lcore.stopping.get_rule("median")]
    res = lcore.simulate(t, rule=rules, repeats=2, chooser="random", progress=False)
    assert len(res) == 4 and res[0].goal == pytest.approx(t.resolve_goal("top0.5%"))
    assert res[0].success.all()


def test_grid_script_on_one_accuracy_and_one_loss_table(tmp_path):
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "tables",
                        "grid_real_tables.py")
    spec = importlib.util.spec_from_file_location("grid_real_tables", path)
    grid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grid)
    out = tmp_path / "grid.json"
    assert grid.main(["--repeats", "2", "--tables", "baker2018_deep_resnets_cifar10",
                      "baker2018_lstm_ptb", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    acc = rep["tables"]["baker2018_deep_resnets_cifar10"]
    rules = [r["rule"] for r in acc["choosers"]["random"]["rules"]]
    assert rules == ["none", "etr1(tau=1)", "etr1(tau=3)", "etr1(tau=9)", "etr2(p=0.9)",
                     "median"]
    assert set(acc["choosers"]) == {"rf-ei", "random"}
    loss = rep["tables"]["baker2018_lstm_ptb"]
    assert loss["mode"] == "min"
    # a "min" table runs the grid like any other (no "pending" branch left)
    assert "pending" not in loss and set(loss["choosers"]) == {"rf-ei", "random"}

import gzip
import json

import numpy as np
import pytest
from _import_helpers import check_common

from lcore.tables import ImportFormatError, import_table


def run(i, acc, T=4):
    cum = np.cumsum(np.full(T, 2.0 + i)).tolist()
    return {
        "config": {"batch_size": 16 * 2 ** i, "learning_rate": 10.0 ** (-1 - i),
                   "momentum": 0.1 + 0.2 * i, "weight_decay": 0.001 * (i + 1),
                   "num_layers": 1 + i, "max_units": 64 * 2 ** i, "max_dropout": 0.1 * i,
                   "loss": "CrossEntropyLoss", "imputation_strategy": "mean"},
        "log": {"epoch": list(range(T)), "time": cum, "Train/val_accuracy": acc,
                "Train/val_cross_entropy": [1.0 / (t + 1) for t in range(T)]},
        "results": {"final_val_accuracy": acc[-1], "classes": 2},
    }


def lcbench(tmp_path, gz=False, **over):
    data = {"credit-g": {str(i): run(i, [50.0, 60.0 + i, 70.0 + i, 72.0 + i])
                         for i in range(3)},
            "adult": {"0": run(0, [40.0, 50.0, 55.0, 56.0]), "1": run(1, [40, 45, 50, 51])}}
    data.update(over)
    p = tmp_path / ("data_2k_lw.json" + (".gz" if gz else ""))
    text = json.dumps(data)
    if gz:
        with gzip.open(p, "wt") as f:
            f.write(text)
    else:
        p.write_text(text)
    return str(p)


def test_lcbench_layout(tmp_path):
    p = lcbench(tmp_path)
    t = import_table("lcbench", p, dataset="credit-g")
    check_common(t, "max")
    assert (t.n, t.T) == (3, 3) and t.meta["initial_column"] == "dropped"
    np.testing.assert_allclose(t.acc[1], [0.61, 0.71, 0.73], rtol=1e-6)  # percent -> fraction
    assert t.meta["time_source"] == "measured" and t.meta["time_unit"] == "s"
    np.testing.assert_allclose(t.time[2], [4.0, 4.0, 4.0])  # differences of cumulative time
    assert t.meta["chance"] == 0.5
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["learning_rate"] == "log" and kinds["momentum"] == "linear"
    assert {d["column"] for d in t.meta["features_dropped"]} == {"loss", "imputation_strategy"}
    ce = import_table("lcbench", p, dataset="adult", tag="Train/val_cross_entropy")
    check_common(ce, "min")
    keep = import_table("lcbench", lcbench(tmp_path, gz=True), dataset="adult", initial="keep")
    assert keep.T == 4


def test_lcbench_dataset_choice_and_errors(tmp_path):
    p = lcbench(tmp_path)
    with pytest.raises(ValueError, match=r"holds 2 datasets; pick one with dataset=.*adult"):
        import_table("lcbench", p)
    with pytest.raises(ValueError, match="dataset='iris' is not in"):
        import_table("lcbench", p, dataset="iris")
    with pytest.raises(ImportFormatError, match="lacks the tag 'Train/val_balanced_accuracy'"):
        import_table("lcbench", p, dataset="adult", tag="Train/val_balanced_accuracy")


@pytest.mark.parametrize("mutate, match", [
    (lambda r: r["log"]["Train/val_accuracy"].append(1.0), "ragged curves"),
    (lambda r: r["log"].__setitem__("time", [1.0, 2.0]), "log\\['time'\\] has 2 values"),
    (lambda r: r.pop("config"), "lacks the object 'config'"),
    (lambda r: r["log"]["Train/val_accuracy"].__setitem__(1, "60"), "must be a number"),
])
def test_lcbench_malformed(tmp_path, mutate, match):
    bad = run(1, [50.0, 60.0, 70.0, 72.0])
    mutate(bad)
    p = lcbench(tmp_path, **{"x": {"0": run(0, [50.0, 60.0, 70.0, 72.0]), "1": bad}})
    with pytest.raises(ImportFormatError, match=match):
        import_table("lcbench", p, dataset="x")


def test_lcbench_nan_is_a_failed_run(tmp_path):
    p = lcbench(tmp_path, **{"x": {"0": run(0, [50.0, 60.0, None, 72.0]),
                                   "1": run(1, [50.0, 55.0, 60.0, 61.0])}})
    t = import_table("lcbench", p, dataset="x")
    assert t.n_finished().tolist() == [1, 3] and t.meta["n_failed_runs"] == 1
    assert t.time[0].tolist() == [2.0, 0.0, 0.0]

import glob
import json
import math
import os

import numpy as np
import pytest
from _import_helpers import check_common, curves_dir

import lcore
from lcore.tables import ImportFormatError, import_table
from lcore.tables.taskset import HP_NAMES

REAL = os.path.join(curves_dir(), "taskset")
TASK = "FixedTextRNNClassification_imdb_patch32_GRU128_bs128"


def hp(i):
    return {"learning_rate": 10.0 ** -(i + 2), "beta1": 0.9 - 0.1 * i, "beta2": 0.999,
            "epsilon": 1e-8 * 10 ** i, "l1": 1e-6, "l2": 1e-5 * (i + 1),
            "linear_decay": 1e-6, "exponential_decay": 1e-5 * (i + 1)}


def record(i, valid):
    n = len(valid)
    return {"hp": hp(i), "train": {"loss": [0.7] * n}, "valid": {"loss": valid},
            "test": {"loss": [0.71] * n}}


def write(tmp_path, records, name=TASK + ".json", raw=None):
    p = tmp_path / name
    p.write_text(raw if raw is not None else json.dumps(records))
    return str(p)


def test_dyhpo_json_layout(tmp_path):
    recs = [record(0, [0.72, 0.69, 0.60, 0.55]), record(1, [0.72, 0.70, 0.69, 0.68]),
            record(2, [0.73, 0.65, 0.50, 0.45])]
    t = import_table("taskset", write(tmp_path, recs))
    check_common(t, "min")
    assert (t.n, t.T) == (3, 3) and t.metric == "valid_loss"
    assert t.meta["initial_column"] == "dropped" and t.meta["dataset"] == TASK
    np.testing.assert_allclose(t.acc[2], [0.65, 0.50, 0.45], rtol=1e-6)
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["beta1"] == "log1m" and kinds["learning_rate"] == "log"
    assert "beta2" in [d["column"] for d in t.meta["features_dropped"]]  # constant here
    assert t.resolve_goal("top34%") == pytest.approx(0.55)  # 2nd smallest final loss
    assert t.objective("best")[1] == pytest.approx(0.68)
    keep = import_table("taskset", str(tmp_path / (TASK + ".json")), initial="keep")
    assert keep.T == 4 and keep.meta["initial_column"] == "kept"
    test = import_table("taskset", str(tmp_path / (TASK + ".json")), split="test")
    assert test.metric == "test_loss" and float(test.acc[0, 0]) == pytest.approx(0.71)


def test_nan_inf_null_become_failed_runs(tmp_path):
    raw = json.dumps([record(0, [0.7, 0.6, 0.5]), record(1, [0.7, 0.6, 0.5]),
                      record(2, [0.7, 0.6, 0.5]), record(3, [0.7, 0.6, 0.5])])
    raw = raw.replace("[0.7, 0.6, 0.5]}, \"test\"", "[0.7, NaN, 0.5]}, \"test\"", 1)
    data = json.loads(raw)
    data[1]["valid"]["loss"] = [0.7, 0.6, math.inf]
    data[2]["valid"]["loss"] = [0.7, None, None]
    data[3]["valid"]["loss"] = [0.7, 0.6, 1e300]  # overflows float32
    t = import_table("taskset", write(tmp_path, data))
    assert t.n_finished().tolist() == [0, 1, 0, 1]
    assert t.meta["n_failed_runs"] == 4 and t.meta["n_nonfinite_values"] == 5
    assert (t.time[0] == 0).all() and t.time[1].tolist() == [1, 0]


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d[1].pop("valid"), "lacks the key 'valid'"),
    (lambda d: d[1]["hp"].pop("beta2"), r"'hp' lacks \['beta2'\]"),
    (lambda d: d[1]["valid"]["loss"].append(0.1), "ragged curves"),
    (lambda d: d[1]["valid"].__setitem__("loss", [0.7, "x", 0.5]), "must be a number"),
    (lambda d: d[1]["hp"].__setitem__("l1", "big"), "must be a finite number"),
    (lambda d: d[1].__setitem__("valid", [1, 2]), "must be an object with a 'loss'"),
    (lambda d: d.__setitem__(1, 5), "record 1 must be an object"),
])
def test_malformed_records_are_refused(tmp_path, mutate, match):
    data = [record(0, [0.7, 0.6, 0.5]), record(1, [0.7, 0.6, 0.5])]
    mutate(data)
    with pytest.raises(ImportFormatError, match=match):
        import_table("taskset", write(tmp_path, data))


def test_not_json_or_not_a_list(tmp_path):
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        import_table("taskset", write(tmp_path, None, raw="{oops"))
    with pytest.raises(ImportFormatError, match="non-empty JSON list"):
        import_table("taskset", write(tmp_path, {"hp": {}}))
    p = write(tmp_path, [record(0, [0.7, 0.6])])
    with pytest.raises(ValueError, match="split must be"):
        import_table("taskset", p, split="dev")
    with pytest.raises(ValueError, match="does not match the task file"):
        import_table("taskset", p, dataset="other_task")


@pytest.mark.skipif(not os.path.isdir(REAL), reason="the real TaskSet files are not here")
def test_real_files_and_shipped_tables():
    files = sorted(glob.glob(os.path.join(REAL, "*.json")))
    assert len(files) == 6
    for f in files:
        t = import_table("taskset", f)
        check_common(t, "min")
        assert (t.n, t.T, t.d) == (1000, 50, 8)
        name = "taskset_" + os.path.basename(f)[:-5].replace(
            "FixedTextRNNClassification_", "").lower()
        s = lcore.load_table(name)
        np.testing.assert_array_equal(s.acc, t.acc)
        assert s.meta["n_failed_runs"] == t.meta["n_failed_runs"] > 0
    assert set(HP_NAMES) == {f["column"] for f in t.meta["features"]}

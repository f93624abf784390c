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


# -- TaskSet's own per-task .npz (optimizers, xs, ys) ----------------------------------------
FAMILY = "adam8p_wide_grid"
NPZ = f"{FAMILY}_1k_10000_replica5.npz"


def npz_arrays(n=4, R=5, S=51, seed=0):
    """The three arrays of a TaskSet .npz: names (bytes), steps, losses (n, R, S, 4)."""
    rng = np.random.default_rng(seed)
    opt = np.array([f"{FAMILY}_seed{i}".encode() for i in range(n)])
    xs = np.arange(S, dtype=np.int64) * 200
    base = 0.7 - 0.4 * (1 - np.exp(-np.arange(S) / 10.0))  # (S,) a falling loss
    ys = (base[None, None, :, None] * (1 + 0.1 * np.arange(n))[:, None, None, None]
          + 0.01 * np.arange(4)[None, None, None, :]
          + 0.001 * rng.random((n, R, S, 4)))
    return {"optimizers": opt, "xs": xs, "ys": ys.astype(np.float32)}


def write_npz(tmp_path, arrays=None, configs="beside", task=TASK, name=NPZ, n=4, **savez):
    d = tmp_path / task
    d.mkdir(parents=True, exist_ok=True)
    arrays = npz_arrays(n=n) if arrays is None else arrays
    p = d / name
    np.savez(p, **arrays, **savez)
    cfg = {f"{FAMILY}_seed{i}": [hp(i), FAMILY] for i in range(n + 2)}  # extra entries are fine
    if configs == "beside":
        (d / f"{FAMILY}.json").write_text(json.dumps(cfg))
    elif configs == "parent":
        (tmp_path / f"{FAMILY}.json").write_text(json.dumps(cfg))
    return str(p)


def test_taskset_npz_layout(tmp_path):
    p = write_npz(tmp_path)
    a = npz_arrays()
    t = import_table("taskset", p)
    check_common(t, "min")
    assert (t.n, t.T, t.d) == (4, 50, 5)  # beta2, l1, linear_decay are constant here
    assert t.metric == "valid_loss" and t.meta["initial_column"] == "dropped"
    assert t.meta["dataset"] == TASK and t.meta["layout"] == "TaskSet npz"
    assert t.meta["replicas"] == 5 and t.meta["steps_per_evaluation"] == 200
    assert t.meta["steps"] == [200.0, 10000.0] and t.meta["configs_file"] == f"{FAMILY}.json"
    assert t.meta["n_failed_runs"] == 0 and t.meta["file_family"] == f"{FAMILY}_1k"
    # valid = column 1 (inner validation), averaged over the 5 replicas, step 0 dropped
    want = a["ys"][:, :, 1:, 1].astype(np.float64).mean(axis=1)
    np.testing.assert_allclose(t.acc, want, rtol=1e-6)
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["beta1"] == "log1m" and kinds["learning_rate"] == "log"
    assert kinds["exponential_decay"] == "log"
    assert t.params["optimizer"].tolist() == [f"{FAMILY}_seed{i}" for i in range(4)]
    np.testing.assert_allclose(t.params["learning_rate"], [hp(i)["learning_rate"]
                                                           for i in range(4)])
    assert (t.time == 1).all() and t.meta["time_unit"] == "epoch"
    for split, col in (("train", 0), ("valid_outer", 2), ("test", 3)):
        s = import_table("taskset", p, split=split)
        assert s.metric == f"{split}_loss" and s.meta["split_column"] == col
        np.testing.assert_allclose(s.acc, a["ys"][:, :, 1:, col].astype(np.float64)
                                   .mean(axis=1), rtol=1e-6)
    r2 = import_table("taskset", p, replica=2)
    np.testing.assert_allclose(r2.acc, a["ys"][:, 2, 1:, 1], rtol=1e-6)
    assert r2.meta["replica"] == "replica 2 of 5"
    keep = import_table("taskset", p, initial="keep", dataset="my_task")
    assert keep.T == 51 and keep.meta["initial_column"] == "kept"
    assert keep.meta["dataset"] == "my_task"
    # the steps may be stored as floats; configs may be one folder up or given as an object
    b = npz_arrays()
    b["xs"] = b["xs"].astype(np.float32)
    p2 = write_npz(tmp_path / "other", arrays=b, configs="parent")
    np.testing.assert_array_equal(import_table("taskset", p2).acc, t.acc)
    cfg = json.loads((tmp_path / TASK / f"{FAMILY}.json").read_text())
    p3 = write_npz(tmp_path / "third", configs=None)
    t3 = import_table("taskset", p3, configs=cfg)
    np.testing.assert_array_equal(t3.acc, t.acc)
    assert t3.meta["configs_file"] == "configs= (an object)"


def test_taskset_npz_without_the_untrained_column(tmp_path):
    a = npz_arrays(S=50)
    a["xs"] = a["xs"] + 200  # 200 .. 10000: no step 0
    t = import_table("taskset", write_npz(tmp_path, arrays=a))
    assert t.T == 50 and t.meta["initial_column"] == "none"


def test_taskset_npz_nan_inf_become_failed_runs(tmp_path):
    a = npz_arrays()
    a["ys"][1, 3, 10, 1] = np.nan      # one replica diverged: the mean is NaN from step 10
    a["ys"][2, :, 20:, 1] = np.inf     # every replica
    a["ys"][3, 0, 5, 0] = np.nan       # the train column only: no effect on valid
    p = write_npz(tmp_path, arrays=a)
    t = import_table("taskset", p)
    assert t.n_finished().tolist() == [50, 9, 19, 50]
    assert t.meta["n_failed_runs"] == 2 and t.meta["n_nonfinite_values"] == 1 + 31
    assert (t.time[1, 9:] == 0).all() and (t.time[1, :9] == 1).all()
    one = import_table("taskset", p, replica=0)
    assert one.n_finished().tolist() == [50, 50, 19, 50] and one.meta["n_failed_runs"] == 1
    tr = import_table("taskset", p, split="train", replica=0)
    assert tr.n_finished().tolist() == [50, 50, 50, 4]


def _set(key, value):
    def mutate(a):
        a[key] = value(a) if callable(value) else value
    return mutate


@pytest.mark.parametrize("mutate, match", [
    (lambda a: a.pop("ys"), r"lacks the arrays \['ys'\].*has \['optimizers', 'xs'\]"),
    (_set("ys", lambda a: a["ys"][:, :, :-1]), r"'ys' must have shape .*\(4, R, 51, 4\).*"
                                               r"got \(4, 5, 50, 4\)"),
    (_set("ys", lambda a: a["ys"][:3]), r"to match 'optimizers' \(4,\)"),
    (_set("ys", lambda a: a["ys"][:, 0]), r"'ys' must have shape"),
    (_set("ys", lambda a: a["ys"][..., :3]), r"'ys' must have shape"),
    (_set("ys", lambda a: (a["ys"] * 100).astype(np.int32)), "must hold floating-point losses"),
    (_set("optimizers", np.arange(4)), "'optimizers' must be a non-empty 1-d array of names"),
    (_set("xs", np.array(["0"] * 51)), "'xs' must be a non-empty 1-d array of training steps"),
    (_set("xs", lambda a: a["xs"][::-1].copy()), "in increasing order"),
    (_set("xs", lambda a: np.r_[a["xs"][:-1], 10050]), "unevenly spaced"),
    (_set("optimizers", np.array([b"a", b"b", b"c", b"d"])), "<family>_seed<k> of one family"),
    (_set("optimizers", np.array([b"adam8p_wide_grid_seed0", b"adam8p_wide_grid_seed1",
                                  b"adam8p_wide_grid_seed2", b"adam8p_wide_grid_seed77"])),
     r"lacks 1 of the file's configurations, e.g. \['adam8p_wide_grid_seed77'\]"),
])
def test_taskset_npz_malformed(tmp_path, mutate, match):
    a = npz_arrays()
    mutate(a)
    p = write_npz(tmp_path, arrays=a)
    with pytest.raises(ImportFormatError, match=match):
        import_table("taskset", p)


def test_taskset_npz_not_an_archive_or_pickled(tmp_path):
    d = tmp_path / TASK
    d.mkdir()
    bad = d / NPZ
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ImportFormatError, match="is not a NumPy .npz archive"):
        import_table("taskset", str(bad))
    with open(bad, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(ImportFormatError, match="holds one array, not a TaskSet .npz"):
        import_table("taskset", str(bad))
    a = npz_arrays()
    a["ys"] = np.array([np.zeros(3), np.zeros(2)], dtype=object)  # ragged: needs a pickle
    np.savez(bad, **a)
    with pytest.raises(ImportFormatError, match="'ys' cannot be read without unpickling"):
        import_table("taskset", str(bad))


def test_taskset_npz_configs_problems(tmp_path):
    p = write_npz(tmp_path, configs=None)
    with pytest.raises(FileNotFoundError, match=r"holds no hyperparameters.*adam8p_wide_grid"
                                                r"\.json.*pass configs=PATH"):
        import_table("taskset", p)
    with pytest.raises(FileNotFoundError, match="configs='nowhere.json': no such file"):
        import_table("taskset", p, configs="nowhere.json")
    c = tmp_path / "c.json"
    c.write_text("{oops")
    with pytest.raises(ImportFormatError, match="configs file .* is not valid JSON"):
        import_table("taskset", p, configs=str(c))
    c.write_text("[1, 2]")
    with pytest.raises(ImportFormatError, match="must be a JSON object"):
        import_table("taskset", p, configs=str(c))
    cfg = {f"{FAMILY}_seed{i}": [hp(i), FAMILY] for i in range(4)}
    cfg[f"{FAMILY}_seed2"][0].pop("l1")
    with pytest.raises(ImportFormatError, match="'adam8p_wide_grid_seed2' has the hyper"):
        import_table("taskset", p, configs=cfg)
    cfg = {f"{FAMILY}_seed{i}": [hp(i), FAMILY] for i in range(4)}
    cfg[f"{FAMILY}_seed1"][0]["l2"] = [1e-5]
    with pytest.raises(ImportFormatError, match="must be a number, a string or a boolean"):
        import_table("taskset", p, configs=cfg)
    cfg[f"{FAMILY}_seed1"] = 3
    with pytest.raises(ImportFormatError, match=r"must be \[\{hp: value\}, family\], got int"):
        import_table("taskset", p, configs=cfg)


def test_taskset_npz_options(tmp_path):
    p = write_npz(tmp_path)
    with pytest.raises(ValueError, match=r"split must be one of \['test', 'train', 'valid', "
                                         r"'valid_outer'\] for a TaskSet .npz, got 'dev'"):
        import_table("taskset", p, split="dev")
    for bad in (5, -1, True, "median"):
        with pytest.raises(ValueError, match=r"replica must be 'mean' or an int in \[0, 4\]"):
            import_table("taskset", p, replica=bad)
    j = write(tmp_path, [record(0, [0.7, 0.6])])
    with pytest.raises(ValueError, match="configs= and replica= are options of TaskSet's .npz"):
        import_table("taskset", j, configs="x.json")
    with pytest.raises(ValueError, match="split must be 'valid', 'train' or 'test'"):
        import_table("taskset", j, split="valid_outer")


def test_taskset_npz_from_the_command_line(tmp_path, capsys):
    from lcore.cli import main

    p = write_npz(tmp_path, configs="parent")
    out = tmp_path / "t.npz"
    assert main(["table", "import", "taskset", p, "--out", str(out), "--set", "replica=1",
                 "--set", "split=test"]) == 0
    t = lcore.load_table(str(out))
    assert t.metric == "test_loss" and t.meta["replica"] == "replica 1 of 5"
    assert "test_loss" in capsys.readouterr().out

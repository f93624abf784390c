import json
import os
import zipfile

import numpy as np
import pytest

import lcore
from lcore.table import LookupTable, TableFormatError, list_tables, load_table, synthetic


def small_table():
    acc = np.array([[0.1, 0.5, 0.9], [0.2, 0.3, np.nan], [0.1, 0.1, 0.1], [0.5, 0.8, 0.95]])
    time = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 0.0], [0.5, 0.5, 0.5], [1.0, 0.0, 1.0]])
    unit = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]])
    return LookupTable.from_arrays(acc, time, unit=unit, meta={"dataset": "toy"})


def test_fields_and_shapes():
    t = small_table()
    assert (t.n, t.T, t.d) == (4, 3, 2)
    assert t.acc.dtype == np.float32 and t.time.dtype == np.float32
    assert t.unit.dtype == np.float64
    assert t.n_finished().tolist() == [3, 2, 3, 3]
    np.testing.assert_array_equal(t.objective("final")[[0, 2, 3]], np.float32([0.9, 0.1, 0.95]))
    assert np.isnan(t.objective("final")[1])
    assert t.objective("best")[1] == np.float32(0.3)


def test_round_trip_exact(tmp_path):
    t = synthetic("mnist_lenet5", n=300, epochs=7, seed=3)
    path = t.save(tmp_path / "t.npz")
    u = LookupTable.load(path)
    for f in ("acc", "time", "unit"):
        np.testing.assert_array_equal(getattr(u, f), getattr(t, f))
        assert getattr(u, f).dtype == getattr(t, f).dtype
    assert u.params.keys() == t.params.keys()
    for k in t.params:
        np.testing.assert_array_equal(u.params[k], t.params[k])
        assert u.params[k].dtype == t.params[k].dtype
    assert u.space == t.space and u.meta == t.meta
    assert load_table(path).n == 300
    # a table from arrays alone round-trips too
    s = small_table()
    s2 = LookupTable.load(s.save(tmp_path / "s"))
    np.testing.assert_array_equal(s2.acc, s.acc)
    assert s2.space is None and s2.params is None


def test_validation_errors():
    acc = np.full((3, 4), 0.5)
    time = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"time must have the shape of acc \(3, 4\)"):
        LookupTable(acc, np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"acc must be 2-D"):
        LookupTable(np.ones(3), np.ones(3))
    bad = acc.copy()
    bad[1, 2] = 1.5
    with pytest.raises(ValueError, match=r"acc must lie in \[0, 1\].*acc\[1, 2\] = 1.5"):
        LookupTable(bad, time)
    bad = acc.copy()
    bad[0, 0] = -0.1
    with pytest.raises(ValueError, match=r"acc must lie in \[0, 1\]"):
        LookupTable(bad, time)
    bad_t = time.copy()
    bad_t[2, 1] = -1
    with pytest.raises(ValueError, match=r"time must be finite and >= 0 seconds.*time\[2, 1\]"):
        LookupTable(acc, bad_t)
    bad_t = time.copy()
    bad_t[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"time must not be NaN"):
        LookupTable(acc, bad_t)
    gap = acc.copy()
    gap[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN before a finished epoch in row 1"):
        LookupTable(gap, time)
    with pytest.raises(ValueError, match=r"unit must lie in \[0, 1\].*unit\[0, 1\] = 2.0"):
        LookupTable(acc, time, unit=[[0, 2.0], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"unit must have shape \(n, d\) with n = 3"):
        LookupTable(acc, time, unit=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unknown space preset 'nope'"):
        LookupTable(acc, time, space="nope")
    with pytest.raises(ValueError, match="unknown hyperparameter type"):
        LookupTable(acc, time, space={"hyperparameters": [{"type": "x", "name": "a"}]})
    with pytest.raises(ValueError, match="the space 'mnist_lenet5' has d = 9"):
        LookupTable(acc, time, unit=np.zeros((3, 2)), space="mnist_lenet5")
    with pytest.raises(ValueError, match=r"params\['a'\] must have shape \(n,\) = \(3,\)"):
        LookupTable(acc, time, params={"a": np.zeros(2)})
    with pytest.raises(ValueError, match="meta must be JSON-serialisable"):
        LookupTable(acc, time, meta={"x": object()})


def test_failed_rows_are_valid():
    acc = [[np.nan, np.nan], [0.3, np.nan], [0.2, 0.4]]
    time = [[0, 0], [1, 0], [1, 1]]
    t = LookupTable(acc, time)
    assert t.n_finished().tolist() == [0, 1, 2]


def test_goal_resolution():
    acc = np.linspace(0.1, 0.99, 1000)[:, None].repeat(2, 1)
    t = LookupTable(acc, np.ones_like(acc))
    objs = np.sort(t.objective())[::-1]
    assert t.resolve_goal(0.992) == 0.992
    assert t.resolve_goal("top0.5%") == objs[4]  # k = ceil(0.005 * 1000) = 5
    assert t.resolve_goal("top 0.05 %") == objs[0]  # k = max(1, ceil(0.5)) = 1
    assert t.resolve_goal("top100%") == objs[-1]
    # NaN rows count last
    acc2 = np.array([[0.5], [np.nan], [0.7], [np.nan]])
    t2 = LookupTable(acc2, np.where(np.isnan(acc2), 0, 1))
    assert t2.resolve_goal("top50%") == np.float32(0.5)
    with pytest.raises(ValueError, match="only 2 rows have an objective"):
        t2.resolve_goal("top75%")
    with pytest.raises(ValueError, match="goal must be an accuracy .* got 'best'"):
        t.resolve_goal("best")
    with pytest.raises(ValueError, match=r"goal share must be in \(0%, 100%\]"):
        t.resolve_goal("top0%")
    with pytest.raises(ValueError, match="goal must be finite"):
        t.resolve_goal(float("nan"))
    with pytest.raises(ValueError, match="objective must be 'final' or 'best'"):
        t.resolve_goal("top1%", objective="last")


def test_corrupt_files_give_clear_errors(tmp_path):
    t = small_table()
    path = t.save(tmp_path / "t.npz")
    raw = open(path, "rb").read()
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TableFormatError, match="could not be read as an lcore table"):
        LookupTable.load(trunc)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(TableFormatError, match="could not be read"):
        LookupTable.load(garbage)
    # tampered: an object array that would need unpickling
    evil = tmp_path / "evil.npz"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    members["acc.npy"] = (tmp_path / "obj.npy").read_bytes()
    with zipfile.ZipFile(evil, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    with pytest.raises(TableFormatError, match=r"'acc.npy' has dtype '\|O'.*never loaded"):
        LookupTable.load(evil)
    # tampered values: accuracy out of range
    members2 = dict(members)
    np.save(tmp_path / "acc.npy", np.full((4, 3), 7.0, dtype=np.float32))
    members2["acc.npy"] = (tmp_path / "acc.npy").read_bytes()
    out = tmp_path / "badacc.npz"
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members2.items():
            z.writestr(n, b)
    with pytest.raises(TableFormatError, match="invalid table: acc must lie in"):
        LookupTable.load(out)
    # not an lcore table
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(TableFormatError, match="is not an lcore table: missing"):
        LookupTable.load(other)
    with pytest.raises(FileNotFoundError, match="no table file"):
        LookupTable.load(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="shipped tables"):
        load_table("no_such_table")


def test_save_is_atomic_and_leaves_no_temp(tmp_path):
    t = small_table()
    t.save(tmp_path / "a.npz")
    assert sorted(os.listdir(tmp_path)) == ["a.npz"]


def test_to_frame():
    t = synthetic("cifar10_cnn", n=50, epochs=4, seed=1)
    df = t.to_frame()
    assert df.shape == (50, len(t.space.names) + 8)
    assert list(df.columns[-8:]) == [f"acc_{i}" for i in range(1, 5)] + [
        f"time_{i}" for i in range(1, 5)]
    assert set(df["activation"]) <= {"relu", "elu", "tanh"}


def test_synthetic_properties():
    t = synthetic("mnist_lenet5", n=4000, epochs=15, seed=0)
    assert t.meta["synthetic"] is True and "SYNTHETIC" in t.meta["notes"]
    np.testing.assert_array_equal(t.unit, lcore.sobol(4000, 9))
    best = t.objective("best")
    untrain = np.nan_to_num(best) < 0.15
    assert 0.05 < untrain.mean() < 0.5
    final = t.objective()
    assert np.nanmax(final) > 0.98
    top = t.resolve_goal("top0.5%")
    assert np.nanmedian(final) < top - 0.05
    # late risers: near chance at epoch 2, well above at the end
    late = (t.acc[:, 1] < 0.2) & (t.acc[:, -1] > 0.6)
    assert late.sum() > 20
    assert (t.n_finished() < 15).sum() > 0
    # times grow with model size
    size = t.params["c1_filters"] * t.params["c2_filters"]
    assert np.corrcoef(size, t.time[:, 0])[0, 1] > 0.3
    # deterministic
    t2 = synthetic("mnist_lenet5", n=4000, epochs=15, seed=0)
    np.testing.assert_array_equal(t.acc, t2.acc)
    assert not np.array_equal(t.acc, synthetic("mnist_lenet5", n=4000, epochs=15, seed=1).acc)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        synthetic(n=0)


def test_csv_import_deepbo_layout(tmp_path):
    rows = [
        "c1,lr,acc_1,acc_2,acc_3,train_time",
        "10,0.001,10.0,50.0,90.0,30",
        "20,0.01,20.0,30.0,,20",
        "30,0.1,,,,0",
    ]
    p = tmp_path / "lookup.csv"
    p.write_text("\n".join(rows) + "\n")
    t = LookupTable.from_csv(p, percent=True)
    assert (t.n, t.T) == (3, 3)
    np.testing.assert_allclose(t.acc[0], [0.1, 0.5, 0.9], rtol=1e-6)
    np.testing.assert_allclose(t.time[0], [10, 10, 10])
    np.testing.assert_allclose(t.time[1], [10, 10, 0])
    assert t.time[2].sum() == 0
    assert t.meta["time_spread_evenly"] is True
    assert set(t.params) == {"c1", "lr"}
    (tmp_path / "bad.csv").write_text("c1,x\n1,2\n")
    with pytest.raises(ValueError, match="no per-epoch accuracy columns"):
        LookupTable.from_csv(tmp_path / "bad.csv")


def test_shipped_tables_load_and_validate():
    names = list_tables()
    assert names, "at least one table ships with the package"
    for name in names:
        t = load_table(name)
        t.validate()
        assert "synthetic" in t.meta or "dataset" in t.meta
    assert load_table().n >= 1000


def test_summary_and_describe():
    t = synthetic("mnist_lenet5", n=2000, epochs=5, seed=2)
    s = t.summary()
    assert s["n"] == 2000 and s["T"] == 5 and s["synthetic"]
    assert set(s["goals"]) == {"top0.05%", "top0.25%", "top0.5%"}
    text = t.describe()
    assert "SYNTHETIC" in text and "top0.5%" in text and "untrainable" in text
    assert s["late_riser_epoch"] == 1 and "late risers" in text
    assert s["top_gap"] == pytest.approx(s["goals"]["top0.5%"] - s["final_acc_quantiles"][0.9])
    # late risers by hand: below chance + 0.2 at epoch 3 of 15, at least 0.6 at the end
    t15 = synthetic("mnist_lenet5", n=3000, epochs=15, seed=4)
    acc = np.nan_to_num(t15.acc.astype(np.float64), nan=0.0)
    want = int(((acc[:, 2] < 0.3) & (np.nan_to_num(t15.objective("final"), nan=0.0) >= 0.6)).sum())
    assert t15.summary()["late_risers"] == want > 0
    json.dumps(s)


def test_shipped_real_mnist_table_shows_the_papers_phenomena():
    """The default table is the real one made by lcore pretrain (issue: >= 2,000 x 15, the
    paper's phenomena), and lcore table info prints them."""
    t = load_table()
    assert t is not None and t.meta.get("preset") == "mnist_lenet5_small"
    assert not t.meta.get("synthetic", False) and not t.meta.get("partial", False)
    t.validate()
    assert t.n >= 2000 and t.T == 15 and t.d == 9
    assert set(t.meta["scaled_ranges"]) == {"c1_filters", "c2_filters", "fc_units", "filter_size"}
    s = t.summary()
    assert 0.1 < s["untrainable_share"] < 0.6     # a share of rows stays near chance
    assert s["late_risers"] >= 10                  # rows that start near chance and rise late
    assert s["top_gap"] > 0.01                     # the top 0.5 % stands above the rest
    assert np.isfinite(t.time).all() and (t.time[~np.isnan(t.acc)] > 0).all()
    text = t.describe()
    assert "untrainable" in text and "late risers" in text and "top 0.5 % above q90" in text


def test_describe_prints_quantiles_with_one_precision():
    from lcore.table import _same_decimals

    assert _same_decimals([0.076, 0.101, 0.11, 0.679, 0.89334, 0.933]) == [
        "0.0760", "0.1010", "0.1100", "0.6790", "0.8933", "0.9330"]
    assert _same_decimals([85.21, 120.0, 412.73]) == ["85.2", "120.0", "412.7"]
    assert _same_decimals([12345.6, 3.0]) == ["12346", "3"]
    assert _same_decimals([0.0, 0.0]) == ["0.000", "0.000"]
    assert _same_decimals([float("nan"), 0.5]) == ["nan", "0.5000"]
    assert _same_decimals([1e-14, 2e-14]) == ["0.0000000000", "0.0000000000"]
    acc = np.tile(np.array([[0.11], [0.8933], [0.5], [0.25]], dtype=np.float32), (1, 3))
    t = LookupTable(acc, np.ones_like(acc), meta={"metric": "val_acc"})
    line = next(ln for ln in t.describe().splitlines() if ln.startswith("final"))
    decimals = {len(tok.split("=")[1].split(".")[1]) for tok in line.split(": ", 1)[1].split()}
    assert decimals == {4}, line

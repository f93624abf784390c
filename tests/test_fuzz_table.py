"""Fuzzing table files and table construction (hypothesis, derandomized, fixed budget).

Every case must end in a correct table or in the documented exception: ``TableFormatError``
naming the file for :meth:`LookupTable.load`; ``ValueError`` / ``TypeError`` naming the
argument for :meth:`LookupTable.from_arrays`; ``ValueError`` / ``TypeError`` naming the file
for :meth:`LookupTable.from_csv`. Anything else (zlib.error, MemoryError, RecursionError, a
crash, a hang) fails. Budget: about 16,000 cases here (about a minute on one core).
"""

import io
import json
import math
import zipfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lcore.table import LookupTable, TableFormatError, synthetic  # noqa: E402


def fuzz(n):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


_T = synthetic(n=6, epochs=3, seed=0)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    raw_path = _T.save(folder / "base.npz")
    raw = open(raw_path, "rb").read()
    with zipfile.ZipFile(raw_path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    return _Case(folder, raw, members)


class _Case(tuple):
    """(folder, file bytes, members) with a short repr for hypothesis' reports."""

    def __new__(cls, *items):
        return super().__new__(cls, items)

    def __repr__(self):
        return f"<table file of {len(self[1])} bytes in {self[0]}>"


def _check_load(path):
    """Load ``path``: a valid table, or TableFormatError naming it; nothing else."""
    try:
        t = LookupTable.load(path)
    except TableFormatError as exc:
        assert str(path) in str(exc), exc
        return None
    t.validate()
    assert t.acc.dtype == np.float32 and t.acc.ndim == 2 and t.time.shape == t.acc.shape
    t.describe()  # what `lcore table info` prints works on whatever loaded
    return t


def _zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for n, b in members:
            z.writestr(n, b)
    return buf.getvalue()


# -- raw bytes ---------------------------------------------------------------------------------
@fuzz(5000)
@given(data=st.data())
def test_fuzz_byte_flips(base, data):
    folder, raw, _ = base
    n = data.draw(st.integers(1, 6))
    b = bytearray(raw)
    for _ in range(n):
        where = data.draw(st.integers(0, len(b) - 1))
        b[where] = data.draw(st.integers(0, 255))
    p = folder / "flip.npz"
    p.write_bytes(bytes(b))
    t = _check_load(p)
    if t is not None and bytes(b) == raw:
        np.testing.assert_array_equal(t.acc, _T.acc)


@fuzz(1500)
@given(data=st.data())
def test_fuzz_truncate_splice(base, data):
    folder, raw, _ = base
    cut = data.draw(st.integers(0, len(raw)))
    ins = data.draw(st.binary(max_size=64))
    at = data.draw(st.integers(0, cut))
    b = raw[:at] + ins + raw[at:cut]
    p = folder / "cut.npz"
    p.write_bytes(b)
    _check_load(p)


# -- zip members -------------------------------------------------------------------------------
_NAMES = ["format.npy", "format_version.npy", "acc.npy", "time.npy", "meta_json.npy",
          "space_json.npy", "unit.npy", "param_names_json.npy", "param_0.npy", "param_9.npy",
          "x.npy", "acc", "unit.npy.npy", "../acc.npy", "ACC.npy"]


@fuzz(3000)
@given(data=st.data())
def test_fuzz_zip_members(base, data):
    folder, _, members = base
    items = list(members.items())
    ops = data.draw(st.lists(st.sampled_from(["drop", "rename", "dup", "garbage", "swap",
                                              "stored"]), min_size=1, max_size=3))
    method = zipfile.ZIP_DEFLATED
    for op in ops:
        k = data.draw(st.integers(0, len(items) - 1))
        name, blob = items[k]
        if op == "drop" and len(items) > 1:
            items.pop(k)
        elif op == "rename":
            items[k] = (data.draw(st.sampled_from(_NAMES)), blob)
        elif op == "dup":
            items.append((name, blob))
        elif op == "garbage":
            items[k] = (name, data.draw(st.binary(max_size=200)))
        elif op == "swap":
            j = data.draw(st.integers(0, len(items) - 1))
            items[k] = (name, items[j][1])
        elif op == "stored":
            method = zipfile.ZIP_STORED
    p = folder / "members.npz"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        p.write_bytes(_zip_bytes(items, method))
    _check_load(p)


# -- .npy headers ------------------------------------------------------------------------------
_DESCR = ["<f4", "<f8", ">f4", "<i8", "|u1", "|b1", "<c16", "<M8[s]", "|O", "<U5", "|S3",
          "|V8", "<f2", "x", 3, None, [("a", "<f4")], "<f4 "]
_KEYS = ["acc.npy", "time.npy", "unit.npy", "param_0.npy", "meta_json.npy", "format.npy",
         "format_version.npy"]


@fuzz(3000)
@given(data=st.data())
def test_fuzz_npy_headers(base, data):
    folder, _, members = base
    key = data.draw(st.sampled_from(_KEYS))
    shape = data.draw(st.one_of(
        st.lists(st.integers(-3, 8), max_size=3).map(tuple),
        st.lists(st.sampled_from([0, 1, 6, 3, 2**31, 10**12, 2**63, 10**40]), min_size=1,
                 max_size=3).map(tuple),
        st.sampled_from(["(6, 3)", "6", None, "(1,) * 99"]),
    ))
    descr = data.draw(st.sampled_from(_DESCR))
    fortran = data.draw(st.sampled_from([False, True, 0, "no"]))
    header = "{" + f"'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {shape!r}, " + "}"
    if data.draw(st.booleans()):
        header = data.draw(st.text(max_size=80))
    hb = header.encode("latin1", "replace")
    version = data.draw(st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x09\x09"]))
    hlen = (len(hb).to_bytes(2, "little") if version != b"\x02\x00"
            else len(hb).to_bytes(4, "little"))
    payload = data.draw(st.binary(max_size=160))
    blob = b"\x93NUMPY" + version + hlen + hb + payload
    p = folder / "npy.npz"
    p.write_bytes(_zip_bytes(list(dict(members, **{key: blob}).items())))
    _check_load(p)


# -- JSON members ------------------------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                              max_size=4),
    max_leaves=12,
)


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


@fuzz(2000)
@given(data=st.data())
def test_fuzz_json_members(base, data):
    folder, _, members = base
    key = data.draw(st.sampled_from(["meta_json.npy", "space_json.npy",
                                     "param_names_json.npy"]))
    kind = data.draw(st.integers(0, 3))
    if kind == 0:
        text = json.dumps(data.draw(_json))
    elif kind == 1:
        depth = data.draw(st.sampled_from([10, 63, 64, 65, 500, 5000, 200_000]))
        text = "[" * depth + "]" * depth
    elif kind == 2:
        text = data.draw(st.text(max_size=40))
    else:  # a real space with one value changed
        d = json.loads(_T.space.to_json())
        hp = d["hyperparameters"][data.draw(st.integers(0, len(d["hyperparameters"]) - 1))]
        hp[data.draw(st.sampled_from(sorted(hp)))] = data.draw(_json)
        key, text = "space_json.npy", json.dumps(d)
    p = folder / "json.npz"
    p.write_bytes(_zip_bytes(list(dict(members, **{key: _npy(np.array(text))}).items())))
    _check_load(p)


# -- from_arrays -------------------------------------------------------------------------------
_DTYPES = ["f4", "f8", "i8", "u1", "?", "c16", "U3", "S3", "M8[s]", "m8[s]", "O"]
_VALUES = [0.0, 0.5, 1.0, -0.1, 1.5, math.nan, math.inf, -math.inf, 1e308, 3, True, "0.5",
           None]


@fuzz(2500)
@given(data=st.data())
def test_fuzz_from_arrays(data):
    n = data.draw(st.integers(0, 4))
    T = data.draw(st.integers(0, 4))

    def arr(shape):
        dtype = data.draw(st.sampled_from(_DTYPES))
        vals = data.draw(st.lists(st.sampled_from(_VALUES), min_size=int(np.prod(shape)),
                                  max_size=int(np.prod(shape))))
        try:
            with np.errstate(all="ignore"):
                return np.array(vals, dtype=object).reshape(shape).astype(dtype)
        except (ValueError, TypeError, OverflowError):
            return np.zeros(shape, dtype=dtype)

    acc = arr((n, T))
    time = arr(data.draw(st.sampled_from([(n, T), (n, T + 1), (T,)])))
    unit = data.draw(st.sampled_from([None, "ok", "bad"]))
    unit = None if unit is None else (arr((n, 2)) if unit == "bad" else np.full((n, 2), 0.5))
    meta = data.draw(st.sampled_from([None, {"a": 1}, {"a": {1, 2}}, {"x": math.nan}]))
    try:
        t = LookupTable.from_arrays(acc, time, unit=unit, meta=meta)
    except (ValueError, TypeError) as exc:
        assert any(w in str(exc) for w in ("acc", "time", "unit", "meta", "epoch")), exc
        return
    assert t.acc.shape == (n, T) and T >= 1
    fin = ~np.isnan(t.acc)
    assert ((t.acc[fin] >= 0) & (t.acc[fin] <= 1)).all() and (t.time >= 0).all()


# -- from_csv ----------------------------------------------------------------------------------
_CSV_HEADERS = ["acc_1", "acc_2", "acc_3", "acc1", "acc_10", "acc_0", "val_acc_1", "time",
                "train_time", "lr", "unit_0", "sobol_1", "Acc_2", "epoch_1"]
_CELLS = ["0.5", "0.25", "1", "1.5", "95", "", "nan", "x", "-1", "1e400", "inf", '"q"', " "]


@fuzz(2000)
@given(data=st.data())
def test_fuzz_from_csv(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp()
    cols = data.draw(st.lists(st.sampled_from(_CSV_HEADERS), min_size=1, max_size=6))
    rows = data.draw(st.lists(st.lists(st.sampled_from(_CELLS), min_size=len(cols),
                                       max_size=len(cols) + 1), max_size=4))
    text = ",".join(cols) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    if data.draw(st.integers(0, 9)) == 0:
        text = data.draw(st.text(max_size=60))
    p = folder / "fuzz.csv"
    p.write_bytes(text.encode("utf-8", "replace"))
    percent = data.draw(st.sampled_from([None, True, False]))
    try:
        t = LookupTable.from_csv(p, percent=percent)
    except (ValueError, TypeError) as exc:
        assert str(p) in str(exc) or "percent" in str(exc), exc
        return
    fin = ~np.isnan(t.acc)
    assert ((t.acc[fin] >= 0) & (t.acc[fin] <= 1)).all()

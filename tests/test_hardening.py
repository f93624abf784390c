"""Regression tests for the hardening audit: tampered tables, non-regular files, terminal
escapes, CSV and array imports that used to be accepted silently, goal parsing, CIFAR-10
unpickling. (Pretraining's journal and CLI cases are in test_pretrain_hardening.py.)"""

import io
import os
import pickle
import struct
import threading
import zipfile

import numpy as np
import pytest

from lcore import cli
from lcore.table import _GOAL_RE, LookupTable, TableFormatError, parse_goal, synthetic


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("tab") / "t.npz"
    t = synthetic(n=20, epochs=3, seed=0)
    t.save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    return t, path, path.read_bytes(), members


def _zip(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for n, b in members.items():
            z.writestr(n, b)
    return path


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _member_data_offset(raw, name):
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        info = z.getinfo(name)
    off = info.header_offset
    n_name, n_extra = struct.unpack("<HH", raw[off + 26: off + 30])
    return info, off + 30 + n_name + n_extra


def test_roundtrip_still_exact(saved, tmp_path):
    t, path, _, _ = saved
    u = LookupTable.load(path)
    np.testing.assert_array_equal(u.acc, t.acc)
    np.testing.assert_array_equal(u.unit, t.unit)
    assert u.meta == t.meta and list(u.params) == list(t.params)
    u.acc[0, 0] = 0.5  # loaded arrays are ordinary writable arrays


def test_broken_deflate_stream_is_a_format_error(saved, tmp_path):
    _, _, raw, _ = saved
    info, start = _member_data_offset(raw, "acc.npy")
    bad = bytearray(raw)
    bad[start: start + 4] = b"\xff\xff\xff\xff"  # an invalid deflate block (was zlib.error)
    p = tmp_path / "z.npz"
    p.write_bytes(bytes(bad))
    with pytest.raises(TableFormatError, match=r"z\.npz.*could not be read.*(zlib|Error)"):
        LookupTable.load(p)


@pytest.mark.parametrize("method", [99, zipfile.ZIP_BZIP2])
def test_unknown_compression_method_is_a_format_error(saved, tmp_path, method):
    _, _, raw, _ = saved
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        info = z.getinfo("acc.npy")
    bad = bytearray(raw)
    # the central directory entry's method field (was NotImplementedError for 99)
    cd = bad.rfind(b"PK\x01\x02acc.npy"[:4], 0, len(bad))
    while cd >= 0:
        n = struct.unpack("<H", bad[cd + 28: cd + 30])[0]
        if bad[cd + 46: cd + 46 + n] == b"acc.npy":
            break
        cd = bad.rfind(b"PK\x01\x02", 0, cd)
    struct.pack_into("<H", bad, cd + 10, method)
    struct.pack_into("<H", bad, info.header_offset + 8, method)
    p = tmp_path / "m.npz"
    p.write_bytes(bytes(bad))
    with pytest.raises(TableFormatError, match=f"'acc.npy' uses zip compression method {method}"):
        LookupTable.load(p)


def test_header_claiming_a_huge_shape_allocates_nothing(saved, tmp_path):
    _, _, _, members = saved
    good = members["acc.npy"]
    hdr = {"descr": "<f4", "fortran_order": False, "shape": (1, 10**12)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, hdr)
    forged = dict(members, **{"acc.npy": buf.getvalue() + good[128:]})
    p = _zip(tmp_path / "huge.npz", forged)
    with pytest.raises(TableFormatError,
                       match=r"'acc.npy': its header claims shape \(1, 1000000000000\)"):
        LookupTable.load(p)


def test_member_size_forged_in_the_zip_directory(saved, tmp_path):
    _, _, raw, _ = saved
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        infos = z.infolist()
    bad = bytearray(raw)
    cd = bad.find(b"PK\x01\x02")
    for _ in infos:  # claim 4 GiB uncompressed for every member
        struct.pack_into("<I", bad, cd + 24, 0xFFFFFFF0)
        n, m, k = struct.unpack("<HHH", bad[cd + 28: cd + 34])
        cd += 46 + n + m + k
    p = tmp_path / "size.npz"
    p.write_bytes(bytes(bad))
    with pytest.raises(TableFormatError, match="claims 4294967280 bytes from"):
        LookupTable.load(p)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_a_format_error(saved, tmp_path, depth):
    _, _, _, members = saved
    deep = '{"a": ' + "[" * depth + "]" * depth + "}"
    for key in ("meta_json.npy", "space_json.npy"):
        p = _zip(tmp_path / f"deep_{key}.npz", dict(members, **{key: _npy(np.array(deep))}))
        with pytest.raises(TableFormatError, match=f"'{key[:-4]}.npy' nests JSON deeper"):
            LookupTable.load(p)


def test_renamed_member_is_refused_not_dropped(saved, tmp_path):
    _, _, raw, members = saved
    renamed = dict(members)
    renamed["unil.npy"] = renamed.pop("unit.npy")
    p = _zip(tmp_path / "renamed.npz", renamed)
    with pytest.raises(TableFormatError, match=r"unexpected members \['unil.npy'\]"):
        LookupTable.load(p)
    # the same by one flipped byte in both headers of the saved file
    q = tmp_path / "flip.npz"
    q.write_bytes(raw.replace(b"unit.npy", b"unil.npy"))
    with pytest.raises(TableFormatError, match="unil.npy"):
        LookupTable.load(q)
    extra = _zip(tmp_path / "extra.npz", dict(members, **{"x.bin": b"1"}))
    with pytest.raises(TableFormatError, match="unexpected or repeated member 'x.bin'"):
        LookupTable.load(extra)
    lost = dict(members)
    del lost["param_0.npy"]
    with pytest.raises(TableFormatError, match=r"lacks the parameter members \['param_0'\]"):
        LookupTable.load(_zip(tmp_path / "lost.npz", lost))


def test_object_member_never_mentions_allow_pickle(saved, tmp_path):
    _, _, _, members = saved
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for key in ("acc.npy", "meta_json.npy", "param_0.npy"):
        p = _zip(tmp_path / "obj.npz", dict(members, **{key: buf.getvalue()}))
        with pytest.raises(TableFormatError, match="object arrays are never loaded") as e:
            LookupTable.load(p)
        assert "allow_pickle" not in str(e.value)


@pytest.mark.parametrize("key,value,match", [
    ("meta_json.npy", np.array("[1, 2]"), "meta_json must hold a JSON object, got list"),
    ("meta_json.npy", np.array("{bad"), "could not be read.*JSONDecodeError"),
    ("param_names_json.npy", np.array('["a", "a"]'), "list of distinct strings"),
    ("format.npy", np.array(3), "'format.npy' has dtype"),
    ("acc.npy", np.zeros(3, np.float32), "'acc.npy' must be 2-D"),
    ("acc.npy", np.zeros((20, 3), "<M8[s]"), "'acc.npy' has dtype"),
    ("space_json.npy", np.array('{"hyperparameters": 5}'), "invalid space definition"),
    ("space_json.npy", np.array('{"hyperparameters": [{"x": 1}]}'),
     "invalid space definition"),
    ("format_version.npy", np.array(99), "has table format 99, newer"),
])
def test_tampered_members(saved, tmp_path, key, value, match):
    _, _, _, members = saved
    p = _zip(tmp_path / "t.npz", dict(members, **{key: _npy(value)}))
    with pytest.raises(TableFormatError, match=match):
        LookupTable.load(p)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "t.npz"
    os.mkfifo(fifo)
    out = {}

    def load():
        try:
            LookupTable.load(fifo)
        except TableFormatError as exc:
            out["err"] = str(exc)
        out["rc"] = cli.main(["table", "info", str(fifo)])

    th = threading.Thread(target=load, daemon=True)
    th.start()
    th.join(30)
    if th.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("loading a FIFO blocked")
    assert "is not a regular file" in out["err"]
    assert out["rc"] == 2
    assert "is not a regular file" in capsys.readouterr().err
    with pytest.raises(TableFormatError, match="is not a regular file"):
        LookupTable.load(tmp_path)


def test_table_info_escapes_terminal_sequences(tmp_path, capsys):
    evil = "\x1b]0;owned\x07\x1b[2J\x9b31m\rred\x00"
    t = LookupTable.from_arrays([[0.5]], [[1.0]], meta={"notes": evil, "dataset": evil,
                                                         "source": "\x1b[1m", "date": "\ud800"})
    text = t.describe()
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in text)
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\rred\\x00" in text and "\\ud800" in text
    path = t.save(tmp_path / "evil.npz")
    assert cli.main(["table", "info", path]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\\x1b[1m" in printed


# -- from_csv ----------------------------------------------------------------------------------
def _csv(tmp_path, header, *rows, name="t.csv"):
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


def test_csv_value_above_one_is_refused_not_divided(tmp_path):
    p = _csv(tmp_path, "lr,acc_1,acc_2,time", "0.1,0.5,0.6,10", "0.2,0.7,1.5,10")
    with pytest.raises(ValueError, match=r"accuracy 1\.5 in column 'acc_2', row 1 is above 1.*"
                                         "percent=True"):
        LookupTable.from_csv(p)
    with pytest.raises(ValueError, match="is above 1"):
        LookupTable.from_csv(p, percent=False)
    t = LookupTable.from_csv(p, percent=True)
    np.testing.assert_allclose(t.acc[1], [0.007, 0.015], rtol=1e-6)
    with pytest.raises(TypeError, match="percent must be True, False or None, got 'yes'"):
        LookupTable.from_csv(p, percent="yes")
    fractions = _csv(tmp_path, "lr,acc_1,acc_2,time", "0.1,0.5,0.6,10", name="f.csv")
    np.testing.assert_allclose(LookupTable.from_csv(fractions).acc, [[0.5, 0.6]], rtol=1e-6)


@pytest.mark.parametrize("header,match", [
    ("acc_1,acc1,time", "columns 'acc_1' and 'acc1' both name epoch number 1"),
    ("acc_1,acc_2,acc_10,time", r"numbered 1..T or 0..T-1 without gaps, got numbers \[1, 2, 10\]"),
    ("acc_2,acc_3,time", r"got numbers \[2, 3\]"),
    ("acc_1,val_acc_2,time", r"different stems \['acc', 'val_acc'\]"),
])
def test_csv_epoch_columns_must_be_unambiguous(tmp_path, header, match):
    n = header.count(",")
    p = _csv(tmp_path, header, ",".join(["0.5"] * n + ["3"]))
    with pytest.raises(ValueError, match=match):
        LookupTable.from_csv(p)


def test_csv_epoch_columns_sorted_numerically(tmp_path):
    cols = [f"acc_{k}" for k in (10, 2, 1, 3, 4, 5, 6, 7, 8, 9)]
    vals = [str(k / 100) for k in (10, 2, 1, 3, 4, 5, 6, 7, 8, 9)]
    t = LookupTable.from_csv(_csv(tmp_path, ",".join(cols + ["time"]), ",".join(vals + ["10"])))
    np.testing.assert_allclose(t.acc[0], np.arange(1, 11) / 100, rtol=1e-6)
    zero = LookupTable.from_csv(_csv(tmp_path, "Acc0,Acc1,time", "0.1,0.2,4", name="z.csv"))
    np.testing.assert_allclose(zero.acc[0], [0.1, 0.2], rtol=1e-6)
    with pytest.raises(ValueError, match="accuracy columns of .* must hold numbers"):
        LookupTable.from_csv(_csv(tmp_path, "acc_1,time", "high,4", name="s.csv"))


# -- from_arrays dtypes ------------------------------------------------------------------------
@pytest.mark.parametrize("acc,match", [
    ([["0.5"]], "got dtype <U3 .strings."),
    (np.array([[b"0.5"]]), "got dtype |S3 .bytes."),
    ([[True]], "got dtype bool .bool."),
    (np.array([["2020-01-01"]], dtype="M8[D]"), r"got dtype datetime64\[D\]"),
    ([[0.5 + 0.25j]], "got dtype complex128 .complex."),
    (np.array([[0.5, "x"]], dtype=object), "got an element 'x'"),
    (np.array([[0.5, True]], dtype=object), "got an element True"),
])
def test_from_arrays_refuses_non_real_acc(acc, match):
    width = np.shape(acc)[1]
    with pytest.raises(TypeError, match="acc must .*" + match):
        LookupTable.from_arrays(acc, np.ones((1, width)))
    with pytest.raises(TypeError, match="time must"):
        LookupTable.from_arrays(np.full((1, width), 0.5), acc)


def test_from_arrays_accepts_ints_floats_and_none_and_refuses_ragged():
    t = LookupTable.from_arrays(np.array([[0.5, None]], dtype=object), [[1, 0]])
    assert np.isnan(t.acc[0, 1]) and t.time.dtype == np.float32
    assert LookupTable.from_arrays([[0, 1]], np.array([[3, 4]], np.int64)).acc.tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="acc must be a rectangular array"):
        LookupTable.from_arrays([[0.5], [0.5, 0.6]], [[1.0], [1.0, 1.0]])
    with pytest.raises(TypeError, match="unit must"):
        LookupTable.from_arrays([[0.5]], [[1.0]], unit=[["a"]])
    # a finite float64 beyond float32 is named, not turned into inf
    with pytest.raises(ValueError, match=r"time\[0, 0\] = 1e\+308 is beyond the range of float32"):
        LookupTable.from_arrays([[0.5]], [[1e308]])


# -- goals -------------------------------------------------------------------------------------
def test_goal_regex_is_linear_and_long_goals_are_refused():
    # the old pattern backtracked quadratically on this (4.6 s for 16,000 ones)
    assert _GOAL_RE.fullmatch("top" + "1" * 200_000 + "!") is None
    assert _GOAL_RE.fullmatch("top" + "1" * 200_000 + "%") is not None
    with pytest.raises(ValueError, match=r"got 'top1111.*\.\.\. \(16004 characters\)'"):
        parse_goal("top" + "1" * 16000 + "!")
    assert parse_goal(" top .5 % ") == ("top", 0.5)
    assert parse_goal("top5.%") == ("top", 5.0)
    assert parse_goal("top1e1%") == ("top", 10.0)
    with pytest.raises(ValueError, match="goal share must be in"):
        parse_goal("top1e999%")


def test_goal_huge_int_is_a_value_error():
    with pytest.raises(ValueError, match="goal must be finite .* an int of 401 digits"):
        parse_goal(10**400)
    t = LookupTable.from_arrays([[0.5]], [[1.0]])
    with pytest.raises(ValueError, match="goal must be finite"):
        t.resolve_goal(10**400)
    with pytest.raises(TypeError, match="goal must be a float accuracy"):
        parse_goal(np.complex128(0.5))
    assert parse_goal(np.float32(0.5)) == ("abs", 0.5)


# -- CIFAR-10 unpickling -----------------------------------------------------------------------
class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_cifar_batch_cannot_run_code(tmp_path):
    pytest.importorskip("torch")
    from lcore.pretrain.data import load_cifar10, read_cifar10_batch

    marker = str(tmp_path / "pwned")
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": _Evil(marker), b"labels": [0]}, f, protocol=2)
    with pytest.raises(ValueError, match="refusing to load posix.mkdir|refusing to load os"):
        load_cifar10(tmp_path, split="test")
    assert not os.path.exists(marker)
    # an object array would unpickle its elements: refused by dtype
    with open(folder / "obj", "wb") as f:
        pickle.dump({b"data": np.array([1, "a"], dtype=object), b"labels": [0]}, f)
    with pytest.raises(ValueError, match="not a readable CIFAR-10 batch.*dtype"):
        read_cifar10_batch(folder / "obj")
    # an array whose shape does not fit its bytes
    good = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2)
    (folder / "short").write_bytes(good.replace(b"K\x01M\x00\x0c", b"K\x02M\x00\x0c"))
    with pytest.raises(ValueError, match="not a readable CIFAR-10 batch"):
        read_cifar10_batch(folder / "short")
    for proto in (2, 4, 5):
        data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
        (folder / "ok").write_bytes(pickle.dumps({b"data": data, b"labels": [3, 4]},
                                                 protocol=proto))
        images, labels = read_cifar10_batch(folder / "ok")
        assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 4]
        np.testing.assert_array_equal(images.transpose(0, 3, 1, 2).reshape(2, -1), data)

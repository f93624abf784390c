import hashlib
import io
import json
import math
import os
import tarfile
import urllib.error
import zipfile

import numpy as np
import pytest

import lcore
from lcore.cli import main
from lcore.tables import FORMATS, format_options, import_table
from lcore.tables._common import ImportFormatError, clean_curves, encode_features, make_table
from lcore.tables.fetch import SOURCES, FetchError, fetch


def test_import_table_is_exported_and_checks_format_and_options(tmp_path):
    assert lcore.import_table is import_table
    assert sorted(FORMATS) == ["baker2018", "fcnet", "lcbench", "nasbench201", "pd1",
                               "synetune", "taskset"]
    with pytest.raises(ValueError, match="format must be one of .* got 'csv'"):
        import_table("csv", "x.csv")
    with pytest.raises(TypeError, match=r"unknown options \['colour'\]; it takes"):
        import_table("taskset", "x.json", colour="red")
    assert "dataset" in format_options("lcbench") and "data" not in format_options("lcbench")
    for fmt in FORMATS:
        assert "dataset" in format_options(fmt)


def test_clean_curves():
    v = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, np.inf], [1.0, 2.0, 3.0], [np.nan, 1, 1]])
    t = np.ones_like(v)
    out, tt, nf, nn = clean_curves(v, t)
    assert (nf, nn) == (3, 3)
    assert (~np.isnan(out)).sum(axis=1).tolist() == [1, 2, 3, 0]
    assert tt.tolist()[0] == [1.0, 0.0, 0.0] and tt[3].sum() == 0


def test_encode_features_rules():
    cols = {"lr": [1e-5, 1e-3, 1e-1], "n": [1, 2, 3], "c": ["a", "b", "a"],
            "k": ["x", "y", "z"], "const": [5, 5, 5], "flag": [True, False, True],
            "many": [str(i) for i in [1, 2, 3]], "b": [0.9, 0.99, 0.999]}
    u, f, d = encode_features(cols, log1m=["b"], max_onehot=2)
    names = [x["name"] for x in f]
    kinds = {x["name"]: x["kind"] for x in f}
    assert kinds["lr"] == "log" and kinds["n"] == "linear" and kinds["c"] == "binary"
    assert kinds["k"] == "ordinal" and kinds["flag"] == "binary" and kinds["b"] == "log1m"
    assert d == [{"column": "const", "reason": "constant (5)"}]
    np.testing.assert_allclose(u[:, names.index("lr")], [0, 0.5, 1])
    np.testing.assert_allclose(u[:, names.index("b")], [1, 0.5, 0])  # log(1 - b)
    np.testing.assert_allclose(u[:, names.index("k")], [0, 0.5, 1])
    u2, f2, _ = encode_features({"k": ["x", "y", "z"]})
    assert [x["name"] for x in f2] == ["k=x", "k=y", "k=z"] and u2.sum(axis=1).tolist() == [1] * 3
    with pytest.raises(ImportFormatError, match="'lr' must be finite numbers"):
        encode_features({"lr": [1.0, np.nan]})
    with pytest.raises(ImportFormatError, match="needs values > 0"):
        encode_features({"lr": [0.0, 1.0]}, log=["lr"])
    with pytest.raises(ImportFormatError, match="has 1 values, expected 2"):
        encode_features({"a": [1, 2], "b": [1]})


def test_make_table_refuses_bad_curves():
    meta = {"format": "x", "source": "s", "licence": "l", "metric": "loss", "mode": "min"}
    with pytest.raises(ImportFormatError, match="non-empty"):
        make_table(np.zeros((0, 3)), meta=meta)
    with pytest.raises(ImportFormatError, match="must be numbers, got dtype <U1"):
        make_table(np.array([["a", "b"]]), meta=meta)
    with pytest.raises(ImportFormatError, match="time must have the curves' shape"):
        make_table(np.ones((2, 3)), meta=meta, time=np.ones((2, 2)))


# -- fetch --------------------------------------------------------------------------------
def fake_opener(payload: bytes):
    def opener(url, timeout):
        return io.BytesIO(payload)
    return opener


def offline(url, timeout):
    raise urllib.error.URLError("Name or service not known")


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_fetch_offline_message(tmp_path):
    with pytest.raises(FetchError, match=r"may be offline.*by hand.*data_2k_lw\.zip"):
        fetch("lcbench", tmp_path, opener=offline)
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_fetch_checks_the_checksum(tmp_path):
    payload = zip_bytes({"data_2k_lw.json": "{}"})
    good = hashlib.sha256(payload).hexdigest()
    got = fetch("lcbench", tmp_path, sha256=good, opener=fake_opener(payload))
    assert got["verified"] and got["sha256"] == good
    assert got["checks"] == ["SHA-256 given with --sha256"]  # the listed MD5 is not consulted
    assert (tmp_path / "data_2k_lw.json").read_text() == "{}"
    assert "lcore table import lcbench" in got["import_hint"]
    assert (tmp_path / "data_2k_lw.zip.sha256").read_text() == f"{good}  data_2k_lw.zip\n"
    other = tmp_path / "o"
    with pytest.raises(FetchError, match="checksum mismatch .* file was deleted"):
        fetch("lcbench", other, sha256="0" * 64, opener=fake_opener(payload))
    assert not (other / "data_2k_lw.zip").exists()
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        fetch("lcbench", tmp_path, sha256="abc")
    with pytest.raises(ValueError, match="name must be one of"):
        fetch("imagenet", tmp_path)


def test_fetch_sources_pin_no_sha256_and_list_md5s():
    """No SHA-256 is published for the four archives: none is pinned (no made-up value);
    the MD5s come with where they are listed."""
    assert all(src["sha256"] is None for src in SOURCES.values())
    for name in ("lcbench", "fcnet", "pd1"):
        md5 = SOURCES[name]["md5"]
        assert len(md5) == 32 and set(md5) <= set("0123456789abcdef")
        assert "sumny/hpodash" in SOURCES[name]["md5_source"]
    assert "md5" not in SOURCES["nasbench201"]


def test_fetch_listed_md5(tmp_path, monkeypatch):
    payload = zip_bytes({"data_2k_lw.json": "{}"})
    with pytest.raises(FetchError, match=r"MD5 [0-9a-f]{32}, expected 26c84930.*sumny/hpodash"
                                         r".*deleted.*--sha256"):
        fetch("lcbench", tmp_path, opener=fake_opener(payload))
    assert not (tmp_path / "data_2k_lw.zip").exists()
    assert not (tmp_path / "data_2k_lw.zip.sha256").exists()
    monkeypatch.setitem(SOURCES["lcbench"], "md5", hashlib.md5(payload).hexdigest())
    got = fetch("lcbench", tmp_path, opener=fake_opener(payload))
    assert got["verified"] and got["first_use"]
    assert got["checks"] == [f"MD5 listed in {SOURCES['lcbench']['md5_source']}"]
    assert "verified: MD5 listed in" in got["status"] and "recorded in" in got["status"]


def test_fetch_md5_fragment_of_nats(tmp_path, monkeypatch):
    with pytest.raises(FetchError, match="does not start or end with 3ffb9"):
        fetch("nasbench201", tmp_path, opener=fake_opener(b"not the benchmark"))
    assert not (tmp_path / SOURCES["nasbench201"]["file"]).exists()
    payload = b"a stand-in for the benchmark"
    monkeypatch.setitem(SOURCES["nasbench201"], "md5_prefix",
                        hashlib.md5(payload).hexdigest()[-5:])
    got = fetch("nasbench201", tmp_path, opener=fake_opener(payload))
    assert got["verified"] and got["checks"][0].startswith("MD5 fragment")


def test_fetch_trust_on_first_use_with_a_file_url(tmp_path, monkeypatch):
    """No checksum known: the first download's SHA-256 is recorded and checks later ones
    (the real download code, from a file:// URL)."""
    served = tmp_path / "server" / "pd1.tar.gz"
    served.parent.mkdir()

    def serve(files):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        served.write_bytes(buf.getvalue())
        return hashlib.sha256(buf.getvalue()).hexdigest()

    digest = serve({"pd1/pd1_matched_phase1_results.jsonl.gz": b"x"})
    monkeypatch.setitem(SOURCES["pd1"], "md5", None)
    monkeypatch.setitem(SOURCES["pd1"], "url", served.as_uri())
    root = tmp_path / "data"
    first = fetch("pd1", root)
    assert first["verified"] is False and first["first_use"] and first["checks"] == []
    assert first["sha256"] == digest
    assert (root / "pd1.tar.gz.sha256").read_text() == f"{digest}  pd1.tar.gz\n"
    assert "UNVERIFIED: no checksum of this file is published" in first["status"]
    assert "later fetches are checked against it" in first["status"]
    assert (root / "pd1" / "pd1_matched_phase1_results.jsonl.gz").read_bytes() == b"x"
    # a later fetch (file present) is checked against the record
    again = fetch("pd1", root)
    assert again["verified"] and not again["first_use"]
    assert again["checks"] == ["SHA-256 recorded at the first fetch (pd1.tar.gz.sha256)"]
    # the publisher's file changes: a fresh download no longer matches the record
    (root / "pd1.tar.gz").unlink()
    new = serve({"pd1/pd1_matched_phase1_results.jsonl.gz": b"changed"})
    with pytest.raises(FetchError, match=rf"has SHA-256 {new}, but .*recorded {digest}.*kept "
                                         r"and not unpacked.*--sha256"):
        fetch("pd1", root)
    assert (root / "pd1.tar.gz").exists()
    assert (root / "pd1" / "pd1_matched_phase1_results.jsonl.gz").read_bytes() == b"x"
    # the user vouches for the new file: the record is rewritten, later fetches use it
    got = fetch("pd1", root, sha256=new)
    assert got["verified"] and got["first_use"]
    assert (root / "pd1.tar.gz.sha256").read_text().startswith(new)
    assert fetch("pd1", root)["checks"][0].startswith("SHA-256 recorded")
    (root / "pd1.tar.gz.sha256").write_text("not a checksum\n")
    with pytest.raises(FetchError, match="does not start with a SHA-256.*delete it"):
        fetch("pd1", root)


def test_fetch_refuses_archive_traversal(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"x"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    good = hashlib.sha256(buf.getvalue()).hexdigest()
    with pytest.raises(FetchError, match="outside the folder"):
        fetch("fcnet", tmp_path / "r", sha256=good, opener=fake_opener(buf.getvalue()))
    assert not (tmp_path / "escape.txt").exists()


# -- command line -------------------------------------------------------------------------
def test_cli_import_and_info(tmp_path, capsys):
    src = tmp_path / "taskset_x.json"
    rec = {"hp": {k: 0.1 * (i + 1) for i, k in enumerate(
        ["learning_rate", "beta1", "beta2", "epsilon", "l1", "l2", "linear_decay",
         "exponential_decay"])}, "valid": {"loss": [0.7, 0.6, 0.5]}}
    rec2 = json.loads(json.dumps(rec))
    rec2["hp"]["learning_rate"] = 0.5
    rec2["valid"]["loss"] = [0.7, 0.65, 0.6]
    src.write_text(json.dumps([rec, rec2]))
    out = tmp_path / "t.npz"
    assert main(["table", "import", "taskset", str(src), "--out", str(out),
                 "--set", "initial=keep"]) == 0
    text = capsys.readouterr().out
    assert "mode: min" in text and "table written to" in text
    t = lcore.load_table(str(out))
    assert t.T == 3 and t.mode == "min"
    assert main(["table", "info", str(out)]) == 0
    assert "valid_loss" in capsys.readouterr().out
    assert main(["table", "import", "taskset", str(src)]) == 2
    assert "needs --out" in capsys.readouterr().err
    assert main(["table", "import", "taskset", str(src), "--out", str(out),
                 "--set", "colour=red"]) == 2
    assert "unknown options ['colour']" in capsys.readouterr().err
    assert main(["table", "import", "nope", str(src), "--out", str(out)]) == 2


def test_cli_list_and_fetch(tmp_path, capsys, monkeypatch):
    assert main(["table", "list"]) == 0
    text = capsys.readouterr().out
    assert "baker2018_lstm_ptb: n=280 x T=59  val_perplexity (min)" in text
    import lcore.tables.fetch as f

    monkeypatch.setattr(f.urllib.request, "urlopen", offline)
    assert main(["table", "fetch", "lcbench", "--root", str(tmp_path)]) == 3
    assert "may be offline" in capsys.readouterr().err
    assert main(["table", "fetch", "lcbench"]) == 2
    assert os.listdir(tmp_path) == []
    payload = zip_bytes({"data_2k_lw.json": "{}"})
    monkeypatch.setattr(f.urllib.request, "urlopen", fake_opener(payload))
    monkeypatch.setitem(SOURCES["lcbench"], "md5", None)
    assert main(["table", "fetch", "lcbench", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "UNVERIFIED: no checksum of this file is published" in out
    assert "next: lcore table import lcbench" in out
    assert main(["table", "fetch", "lcbench", "--root", str(tmp_path)]) == 0
    assert "verified: SHA-256 recorded at the first fetch" in capsys.readouterr().out


def test_json_floats_shared_by_the_json_importers():
    from lcore.tables._common import json_floats

    out = json_floats([1, 2.5, None], "f: x")
    assert out[:2] == [1.0, 2.5] and math.isnan(out[2])
    assert json_floats(None, "f: x", allow_null=True) is None
    assert json_floats([], "f: x", allow_empty=True) == []
    with pytest.raises(ImportFormatError, match=r"f: x must be a non-empty list of numbers, "
                                                r"got list of length 0"):
        json_floats([], "f: x")
    with pytest.raises(ImportFormatError, match="must be a non-empty list of numbers, got dict"):
        json_floats({}, "f: x")
    with pytest.raises(ImportFormatError, match=r"must be a list of numbers or null, got str"):
        json_floats("1", "f: x", allow_null=True, allow_empty=True)
    with pytest.raises(ImportFormatError, match=r"f: x\[1\] must be a number, got True"):
        json_floats([1.0, True], "f: x")

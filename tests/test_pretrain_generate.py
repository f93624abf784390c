"""Table generation: journal, resume after kill -9, refusal of foreign journals, assembly."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lcore.pretrain import cli  # noqa: E402
from lcore.pretrain.data import load_mnist, prepare  # noqa: E402
from lcore.pretrain.generate import (  # noqa: E402
    Journal,
    JournalError,
    assemble,
    default_journal_path,
    generate,
    row_seed,
    sobol_points,
)
from lcore.space import preset  # noqa: E402
from lcore.table import load_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
from _mnist import MNIST_RAW, needs_mnist  # noqa: E402

SPACE = preset("mnist_lenet5_small")


@pytest.fixture(scope="module")
def tiny():
    """Random 8x8 'images': fast rows for the journal mechanics."""
    rng = np.random.default_rng(0)
    return prepare(rng.integers(0, 256, (120, 8, 8), dtype=np.uint8),
                   rng.integers(0, 10, 120), n_train=64, n_val=32)


def _rows(journal):
    return sorted(Journal.read(journal).rows)


def test_generate_table_fields_and_resume_trains_nothing(tmp_path, tiny):
    out = tmp_path / "t.npz"
    seen = []
    table = generate(SPACE, tiny, n=4, epochs=2, out=out, seed=3, progress=False,
                     on_row=lambda i, rec: seen.append(i))
    assert sorted(seen) == [0, 1, 2, 3]
    assert table.acc.shape == (4, 2) and table.acc.dtype == np.float32
    np.testing.assert_array_equal(table.unit, sobol_points(4, SPACE.d))
    want = SPACE.from_unit(table.unit)
    for name in SPACE.names:
        np.testing.assert_array_equal(table.params[name], want[name])
    m = table.meta
    assert m["partial"] is False and m["T"] == 2 and m["seed"] == 3 and m["n"] == 4
    assert m["preset"] == "mnist_lenet5_small" and m["family"] == "mnist"
    assert m["scaled_ranges"]["c1_filters"].startswith("1-64")
    assert {"padding", "pooling", "l2"} <= set(m["architecture"])
    assert m["data"]["fingerprint"] == tiny.fingerprint()
    assert m["device"] == "cpu" and m["versions"]["torch"]
    rec = Journal.read(default_journal_path(out)).rows[2]
    assert rec["seed"] == row_seed(3, 2) and rec["config"] == SPACE.configs(table.unit[2:3])[0]
    loaded = load_table(str(out))
    np.testing.assert_array_equal(loaded.acc, table.acc)
    assert loaded.meta["training"]["batch_size"] == 64
    # the same call again finds every row in the journal and trains nothing
    seen.clear()
    again = generate(SPACE, tiny, n=4, epochs=2, out=out, seed=3, progress=False,
                     on_row=lambda i, rec: seen.append(i))
    assert seen == []
    np.testing.assert_array_equal(again.acc, table.acc)
    # a larger n extends the journal: only the new rows train, and they match a fresh run
    more = generate(SPACE, tiny, n=6, epochs=2, out=out, seed=3, progress=False,
                    on_row=lambda i, rec: seen.append(i))
    assert sorted(seen) == [4, 5]
    fresh = generate(SPACE, tiny, n=6, epochs=2, out=tmp_path / "f.npz", seed=3,
                     progress=False)
    np.testing.assert_array_equal(more.acc, fresh.acc)
    assert len(Journal.read(default_journal_path(out)).sessions) == 3


def test_row_seed_depends_on_seed_and_row_only():
    assert row_seed(0, 5) == row_seed(0, 5)
    assert len({row_seed(0, i) for i in range(100)}) == 100
    assert row_seed(0, 1) != row_seed(1, 1)


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(seed=1), "made for seed = 0, but this run has seed = 1"),
        (dict(epochs=3), "made for epochs = 2"),
        (dict(preset="other"), "made for preset = \"mnist_lenet5_small\""),
        (dict(space=preset("mnist_lenet5"), preset="mnist_lenet5_small"), "made for space"),
        (dict(batch_size=32), "made for batch_size = 64"),
        (dict(data="other"), "data with fingerprint"),
    ],
)
def test_foreign_journal_is_refused(tmp_path, tiny, change, match):
    out = tmp_path / "t.npz"
    generate(SPACE, tiny, n=1, epochs=2, out=out, seed=0, progress=False)
    args = dict(space=SPACE, data=tiny, n=2, epochs=2, out=out, seed=0, progress=False)
    if change.get("data") == "other":
        rng = np.random.default_rng(1)
        change = dict(data=prepare(rng.integers(0, 256, (120, 8, 8), dtype=np.uint8),
                                   rng.integers(0, 10, 120), n_train=64, n_val=32))
    args.update(change)
    with pytest.raises(JournalError, match=match):
        generate(**args)
    assert _rows(default_journal_path(out)) == [0]  # nothing was added


def test_journal_damage(tmp_path, tiny):
    out = tmp_path / "t.npz"
    journal = default_journal_path(out)
    generate(SPACE, tiny, n=2, epochs=1, out=out, progress=False)
    lines = Path(journal).read_text().splitlines(keepends=True)
    # a row line whose unit point is not this space's Sobol point
    bad = json.loads(lines[-1])
    bad["unit"] = [0.25] * SPACE.d
    Path(journal).write_text("".join(lines[:-1]) + json.dumps(bad) + "\n")
    with pytest.raises(JournalError, match="has unit point"):
        generate(SPACE, tiny, n=2, epochs=1, out=out, progress=False)
    # garbage in the middle of the file is not silently dropped
    Path(journal).write_text(lines[0] + "not json\n" + "".join(lines[1:]))
    with pytest.raises(JournalError, match="line 2 is not JSON"):
        Journal.read(journal)
    Path(journal).write_text('{"format": "something else"}\n')
    with pytest.raises(JournalError, match="is not an lcore pretraining journal"):
        Journal.read(journal)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Journal.read(tmp_path / "none.jsonl")


def test_torn_last_line_is_redone(tmp_path, tiny):
    out = tmp_path / "t.npz"
    journal = default_journal_path(out)
    full = generate(SPACE, tiny, n=3, epochs=2, out=out, progress=False)
    lines = Path(journal).read_bytes().split(b"\n")
    # power loss while row 2 was written: keep half of its line, no newline
    torn = b"\n".join(lines[:-2]) + b"\n" + lines[-2][: len(lines[-2]) // 2]
    last_row = json.loads(lines[-2])["row"]
    Path(journal).write_bytes(torn)
    seen = []
    again = generate(SPACE, tiny, n=3, epochs=2, out=out, progress=False,
                     on_row=lambda i, rec: seen.append(i))
    assert seen == [last_row]
    np.testing.assert_array_equal(again.acc, full.acc)
    for line in Path(journal).read_bytes().split(b"\n")[:-1]:
        json.loads(line)  # every line whole again


def test_partial_assembly(tmp_path, tiny):
    out = tmp_path / "t.npz"
    journal = default_journal_path(out)
    generate(SPACE, tiny, n=3, epochs=2, out=out, progress=False)
    with pytest.raises(ValueError, match="holds 3 of the 5 rows .first missing: row 3"):
        assemble(journal, n=5)
    part = assemble(journal, n=5, partial=True)
    assert part.n == 3 and part.meta["partial"] is True
    assert part.meta["rows"] == [0, 1, 2] and part.meta["rows_missing"] == 2
    assert part.meta["notes"].startswith("PARTIAL")
    whole = assemble(journal)  # n defaults to what the journal holds
    assert whole.n == 3 and whole.meta["partial"] is False
    with pytest.raises(ValueError, match="holds no finished row below n = 0"):
        assemble(journal, n=0, partial=True)


def _broken_for_big_c1(config, in_shape, n_classes):
    if config["c1_filters"] > 32:
        raise RuntimeError("forced: too big")
    from lcore.pretrain.models import mnist_lenet5

    return mnist_lenet5(config, in_shape=in_shape, n_classes=n_classes)


def test_failed_rows_land_in_the_table(tmp_path, tiny):
    table = generate(SPACE, tiny, n=6, epochs=2, out=tmp_path / "t.npz", progress=False,
                     model_fn=_broken_for_big_c1)
    big = table.params["c1_filters"] > 32
    assert big.any() and (~big).any()
    assert np.isnan(table.acc[big]).all() and (table.time[big] == 0).all()
    assert not np.isnan(table.acc[~big]).any()
    assert table.meta["n_failed"] == int(big.sum())
    assert [f["row"] for f in table.meta["failures"]] == np.flatnonzero(big).tolist()
    assert table.meta["failures"][0]["error"] == "RuntimeError: forced: too big"
    table.validate()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n=0), "n must be an int >= 1"),
        (dict(epochs=0), "epochs must be an int >= 1"),
        (dict(n_jobs=0), "n_jobs must be an int >= 1 or -1"),
        (dict(out=None), "give out .the table's path. or journal"),
    ],
)
def test_generate_argument_errors(tmp_path, tiny, kwargs, match):
    args = dict(n=2, epochs=1, out=tmp_path / "t.npz", progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        generate(SPACE, tiny, **args)


def _cli_args(argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_refuses_partial_into_package_data_and_unknown_scale(tmp_path, capsys):
    import lcore

    target = Path(lcore.__file__).parent / "data" / "should_not_exist.npz"
    args = _cli_args(["--preset", "mnist_lenet5_small", "--data-root", str(tmp_path), "--n",
                      "5", "--out", str(target), "--journal", str(tmp_path / "j.jsonl"),
                      "--partial"])
    assert cli.run(args) == 2
    assert "refuses to write into lcore's package data" in capsys.readouterr().err
    assert not target.exists()
    args = _cli_args(["--preset", "cifar10_cnn", "--scale", "small", "--data-root",
                      str(tmp_path), "--n", "5", "--out", str(tmp_path / "t.npz")])
    assert cli.run(args) == 2
    assert "'cifar10_cnn_small', which has no pretraining preset" in capsys.readouterr().err


@needs_mnist
def test_kill9_then_rerun_equals_uninterrupted_run(tmp_path):
    argv = ["--preset", "mnist_lenet5", "--scale", "small", "--data-root", str(MNIST_RAW),
            "--n", "8", "--epochs", "2", "--n-train", "128", "--n-val", "64",
            "--device", "cpu", "--seed", "7", "--no-progress"]
    out = tmp_path / "killed.npz"
    journal = default_journal_path(out)
    cmd = [sys.executable, "-m", "lcore.pretrain", *argv, "--out", str(out)]
    # killed while running on 2 workers, resumed on 1: rows do not depend on the worker
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd + ["--n-jobs", "2"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(journal) and len(Journal.read(journal).rows) >= 2:
                break
            time.sleep(0.02)
        # SIGKILL the whole group (parent and joblib workers), as a power cut would
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    done_at_kill = _rows(journal)
    assert 2 <= len(done_at_kill) < 8, done_at_kill
    assert not out.exists()
    rerun = subprocess.run(cmd + ["--n-jobs", "1"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    sessions = Journal.read(journal).sessions
    assert [s["todo"] for s in sessions] == [8, 8 - len(done_at_kill)]
    resumed = load_table(str(out))
    # the uninterrupted run, in this process, on the same data
    images, labels = load_mnist(MNIST_RAW, split="test")
    data = prepare(images, labels, n_train=128, n_val=64, size=14, seed=0)
    ref = generate(SPACE, data, n=8, epochs=2, out=tmp_path / "ref.npz", seed=7,
                   device="cpu", progress=False)
    assert resumed.meta["data"]["fingerprint"] == data.fingerprint()
    np.testing.assert_array_equal(resumed.acc, ref.acc)
    np.testing.assert_array_equal(resumed.unit, ref.unit)
    assert resumed.meta["partial"] is False and resumed.n == 8
    assert not np.isnan(resumed.acc).all()

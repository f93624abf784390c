"""Pretraining hardening: incomplete journal headers, tampered lines, every header field
checked, arguments and output checked before any write, one-line CLI errors, no orphan
workers after the parent is killed."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lcore.pretrain import cli  # noqa: E402
from lcore.pretrain.data import prepare  # noqa: E402
from lcore.pretrain.generate import (  # noqa: E402
    Journal,
    JournalError,
    assemble,
    check_output_path,
    default_journal_path,
    generate,
)
from lcore.space import preset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPACE = preset("mnist_lenet5_small")


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return prepare(rng.integers(0, 256, (120, 8, 8), dtype=np.uint8),
                   rng.integers(0, 10, 120), n_train=64, n_val=32)


@pytest.fixture(scope="module")
def done(tmp_path_factory, tiny):
    """A finished 3-row journal and its lines."""
    out = tmp_path_factory.mktemp("done") / "t.npz"
    table = generate(SPACE, tiny, n=3, epochs=2, out=out, progress=False)
    journal = default_journal_path(out)
    return table, Path(journal).read_text().splitlines(keepends=True)


def _run(tiny, out, **kw):
    args = dict(n=3, epochs=2, out=out, progress=False)
    args.update(kw)
    return generate(SPACE, tiny, **args)


@pytest.mark.parametrize("content", [b"", b'{"format": "lcore-pretrain-jour'])
def test_journal_whose_header_never_completed_is_recovered(tmp_path, tiny, done, content):
    out = tmp_path / "t.npz"
    journal = Path(default_journal_path(out))
    journal.write_bytes(content)  # a kill between creating the file and syncing its header
    with pytest.raises(JournalError, match="has no complete header line .*rerun"):
        Journal.read(journal)
    table = _run(tiny, out)
    np.testing.assert_array_equal(table.acc, done[0].acc)
    assert sorted(Journal.read(journal).rows) == [0, 1, 2]


def test_journal_is_created_whole(tmp_path, tiny):
    out = tmp_path / "t.npz"
    _run(tiny, out, n=1)
    assert sorted(os.listdir(tmp_path)) == ["t.journal.jsonl", "t.npz"]  # no temp left
    head = Path(default_journal_path(out)).read_text().splitlines()[0]
    assert json.loads(head)["format"] == "lcore-pretrain-journal/1"


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), "batch_size must be an int >= 1, got 0"),
    (dict(batch_size=True), "batch_size must be an int >= 1, got True"),
    (dict(threads_per_worker=0), "threads_per_worker must be an int >= 1"),
    (dict(seed=-1), "seed must be an int >= 0, got -1"),
    (dict(n=2.0), "n must be an int >= 1, got 2.0"),
    (dict(epochs=10**6), "epochs <= 100000"),
    (dict(family="svhn"), "family must be 'mnist' or 'cifar10', got 'svhn'"),
    (dict(device="tpu"), "device must be 'auto', 'cpu', 'cuda'"),
    (dict(n_jobs=True), "n_jobs must be an int >= 1 or -1"),
])
def test_arguments_checked_before_anything_is_written(tmp_path, tiny, kwargs, match):
    out = tmp_path / "t.npz"
    with pytest.raises(ValueError, match=match):
        _run(tiny, out, **kwargs)
    assert os.listdir(tmp_path) == []  # no journal, no table
    _run(tiny, out, n=1)  # and the journal is not poisoned


def _rewrite(path, lines):
    Path(path).write_text("".join(lines))


@pytest.mark.parametrize("field,value", [
    ("architecture", {"other": "net"}),
    ("training", {"optimizer": "SGD"}),
    ("created_by", "someone"),  # a field this run does not write at all
])
def test_resume_checks_every_header_field(tmp_path, tiny, done, field, value):
    out = tmp_path / "t.npz"
    journal = default_journal_path(out)
    head = json.loads(done[1][0])
    head[field] = value
    _rewrite(journal, [json.dumps(head) + "\n", *done[1][1:]])
    with pytest.raises(JournalError, match=f"{field} = "):
        _run(tiny, out)
    # the created date alone may differ
    head = json.loads(done[1][0])
    head["created"] = "1999-01-01T00:00:00+00:00"
    _rewrite(journal, [json.dumps(head) + "\n", *done[1][1:]])
    assert _run(tiny, out).n == 3


def _row_line(done, **change):
    rec = json.loads(done[1][-1])
    for k, v in change.items():
        if v is KeyError:
            del rec[k]
        else:
            rec[k] = v
    return json.dumps(rec) + "\n"


@pytest.mark.parametrize("line,match", [
    ("[1, 2]\n", "line 5 is neither a row nor a session record"),
    ('"text"\n', "line 5 is neither a row nor a session record"),
    ('{"type": "other"}\n', "line 5 is neither a row nor a session record"),
    ({"row": "2"}, "needs 'row' an int >= 0, got \"2\""),
    ({"row": -1}, "needs 'row' an int >= 0, got -1"),
    ({"row": True}, "needs 'row' an int >= 0, got true"),
    ({"acc": KeyError}, "needs 'acc' a list of 2 accuracies"),
    ({"acc": [0.5]}, "needs 'acc' a list of 2 accuracies"),
    ({"acc": [0.5, 7.0]}, "needs 'acc' a list of 2 accuracies"),
    ({"time": [1.0, -1.0]}, "needs 'time' a list of 2 seconds"),
    ({"unit": [0.5]}, "needs 'unit' a list of 9 numbers"),
    ({"config": None}, "needs 'config' an object"),
    ({"status": 3}, "needs 'status' a string"),
    ({"epochs_done": 9}, r"needs 'epochs_done' an int in \[0, 2\]"),
    ({"error": ["x"]}, "needs 'error' a string or null"),
])
def test_tampered_lines_give_a_journal_error(tmp_path, tiny, done, line, match):
    out = tmp_path / "t.npz"
    journal = default_journal_path(out)
    bad = line if isinstance(line, str) else _row_line(done, **line)
    _rewrite(journal, [*done[1][:-1], bad, done[1][-1]])
    with pytest.raises(JournalError, match=match):
        Journal.read(journal)
    with pytest.raises(JournalError, match="line 5"):
        _run(tiny, out)
    with pytest.raises(JournalError, match="line 5"):
        assemble(journal, partial=True)


@pytest.mark.parametrize("change,match", [
    ({"epochs": "2"}, "header field 'epochs' must be a int"),
    ({"seed": None}, "header field 'seed' must be a int"),
    ({"space": {"x": 1}}, "header holds no valid space"),
    ({"space": {"hyperparameters": [{"name": 1}]}}, "header holds no valid space"),
    ({"epochs": 0}, "they must be >= 1"),
    ({"data": [1]}, "header field 'data' must be an object"),
])
def test_tampered_header_gives_a_journal_error(tmp_path, done, change, match):
    journal = tmp_path / "j.jsonl"
    head = dict(json.loads(done[1][0]), **change)
    _rewrite(journal, [json.dumps(head) + "\n", *done[1][1:]])
    with pytest.raises(JournalError, match=match):
        Journal.read(journal)


def test_output_path_checked_before_training(tmp_path, tiny):
    seen = []
    with pytest.raises(ValueError, match="its folder .* does not exist"):
        _run(tiny, tmp_path / "no" / "t.npz", on_row=lambda i, r: seen.append(i))
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        _run(tiny, tmp_path / "d.npz", on_row=lambda i, r: seen.append(i))
    assert seen == [] and sorted(os.listdir(tmp_path)) == ["d.npz"]
    assert check_output_path(tmp_path / "X") == str(tmp_path / "X.npz")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="cannot be written"):
                check_output_path(ro / "t.npz")
        finally:
            ro.chmod(0o700)


# -- the command line --------------------------------------------------------------------------
def _write_idx(path, arr, code):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape)
    path.write_bytes(header + arr.tobytes())


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(3)
    _write_idx(root / "t10k-images-idx3-ubyte",
               rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), 0x08)
    _write_idx(root / "t10k-labels-idx1-ubyte",
               rng.integers(0, 10, 60).astype(np.uint8), 0x08)
    return root


def _argv(root, out, *more):
    return ["--preset", "mnist_lenet5", "--scale", "small", "--data-root", str(root),
            "--n", "2", "--epochs", "1", "--n-train", "32", "--n-val", "16",
            "--image-size", "8", "--device", "cpu", "--no-progress", "--out", str(out), *more]


def test_cli_out_without_suffix_says_where_it_wrote(tmp_path, fake_mnist, capsys):
    assert cli.main(_argv(fake_mnist, tmp_path / "X")) == 0
    said = capsys.readouterr().out
    assert f"wrote {tmp_path / 'X.npz'}:" in said
    assert sorted(os.listdir(tmp_path)) == ["X.journal.jsonl", "X.npz"]
    assert cli.main(_argv(fake_mnist, tmp_path / "X", "--partial")) == 0
    assert f"wrote {tmp_path / 'X.npz'}:" in capsys.readouterr().out


@pytest.mark.parametrize("more,match", [
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--n-jobs", "0"], "--n-jobs must be >= 1 or -1"),
    (["--threads-per-worker", "-2"], "--threads-per-worker must be >= 1"),
    (["--n-val", "0"], "--n-val must be >= 1"),
    (["--backend", "mpi"], "--backend must be loky"),
    (["--device", "warp"], "device must be 'auto'"),
    (["--n-train", "1000"], "n_train must be an int in"),
])
def test_cli_errors_are_one_line_and_write_nothing(tmp_path, fake_mnist, capsys, more, match):
    assert cli.main(_argv(fake_mnist, tmp_path / "t.npz", *more)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lcore pretrain: error: "), err
    assert "Traceback" not in err
    import re

    assert re.search(match, err), err
    assert os.listdir(tmp_path) == []


def test_cli_missing_data_and_bad_out_are_one_line(tmp_path, capsys):
    assert cli.main(_argv(tmp_path / "nothing", tmp_path / "t.npz")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MNIST test files" in err
    assert cli.main(_argv(tmp_path, tmp_path / "no" / "t.npz")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "does not exist" in err


def test_cli_damaged_journal_is_one_line(tmp_path, fake_mnist, capsys):
    out = tmp_path / "t.npz"
    Path(default_journal_path(out)).write_text('{"format": "lcore-pretrain-journal/1"}\n')
    assert cli.main(_argv(fake_mnist, out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "header field 'preset' must be a str" in err


def _children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_loky_workers_end_when_the_parent_is_killed(tmp_path):
    pytest.importorskip("joblib")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from lcore.pretrain.data import prepare
        from lcore.pretrain.generate import generate
        from lcore.space import preset
        rng = np.random.default_rng(0)
        data = prepare(rng.integers(0, 256, (120, 8, 8), dtype=np.uint8),
                       rng.integers(0, 10, 120), n_train=64, n_val=32)
        generate(preset("mnist_lenet5_small"), data, n=40, epochs=200,
                 out={str(tmp_path / "t.npz")!r}, n_jobs=2, device="cpu", progress=False)
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            # loky's workers are the children that run python with a loky main
            kids = [k for k in _children(proc.pid) if b"popen_loky_posix" in
                    Path(f"/proc/{k}/cmdline").read_bytes()]
            if len(kids) >= 2 and os.path.exists(tmp_path / "t.journal.jsonl"):
                workers = kids
                time.sleep(1.0)  # started, maybe still importing: they must end all the same
                break
            time.sleep(0.1)
        assert workers, "the workers never started"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as an OOM kill would
    finally:
        proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them behind even when failing
        os.kill(w, signal.SIGKILL)
    assert not left, f"orphaned workers {left}"


def test_lcore_command_passes_pretrain_errors_as_one_line(tmp_path, capsys):
    from lcore import cli as lcore_cli

    argv = ["pretrain", *_argv(tmp_path, tmp_path / "t.npz", "--epochs", "0")]
    assert lcore_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == "lcore pretrain: error: --epochs must be >= 1, got 0\n"
    assert lcore_cli.main(["pretrain", "--preset", "nope", "--data-root", str(tmp_path),
                           "--n", "1", "--out", str(tmp_path / "t.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lcore pretrain: error: ") and err.count("\n") == 1

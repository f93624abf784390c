"""Fuzzing the pretraining journal (hypothesis, derandomized, fixed budget).

A journal with flipped bytes, lost, repeated or swapped lines, or any JSON value replaced
must read as a journal or raise ``JournalError`` naming the file; assembling a table from one
that reads gives a valid table or a ``ValueError`` (``JournalError`` included) naming it.
Budget: 4,000 cases.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lcore.pretrain.data import prepare  # noqa: E402
from lcore.pretrain.generate import (  # noqa: E402
    Journal,
    JournalError,
    _header,
    assemble,
    default_journal_path,
    generate,
)
from lcore.space import preset  # noqa: E402

SPACE = preset("mnist_lenet5_small")


def fuzz(n):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzj")
    rng = np.random.default_rng(0)
    data = prepare(rng.integers(0, 256, (60, 8, 8), dtype=np.uint8),
                   rng.integers(0, 10, 60), n_train=32, n_val=16)
    out = folder / "t.npz"
    generate(SPACE, data, n=4, epochs=2, out=out, progress=False)
    path = default_journal_path(out)
    header = _header(SPACE, SPACE.name, 0, 2, "mnist", 64, data)
    return _Case(folder, open(path, "rb").read(), header)


class _Case(tuple):
    """(folder, journal bytes, header) with a short repr for hypothesis' reports."""

    def __new__(cls, *items):
        return super().__new__(cls, items)

    def __repr__(self):
        return f"<journal of {len(self[1])} bytes in {self[0]}>"


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats() | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                              max_size=3),
    max_leaves=8,
)


def _mutate_json(data, line: bytes) -> bytes:
    obj = json.loads(line)
    target = obj
    for _ in range(data.draw(st.integers(0, 2))):  # walk down a little
        if isinstance(target, dict) and target:
            v = target[data.draw(st.sampled_from(sorted(target)))]
            if isinstance(v, (dict, list)) and v:
                target = v
        elif isinstance(target, list) and target:
            v = target[data.draw(st.integers(0, len(target) - 1))]
            if isinstance(v, (dict, list)) and v:
                target = v
    new = data.draw(_json)
    if isinstance(target, dict) and target:
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            target[key] = new
        else:
            del target[key]
    elif isinstance(target, list) and target:
        target[data.draw(st.integers(0, len(target) - 1))] = new
    return json.dumps(obj).encode()


@fuzz(4000)
@given(data=st.data())
def test_fuzz_journal(journal, data):
    folder, raw, header = journal
    lines = raw.split(b"\n")[:-1]
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["json", "json", "drop", "dup", "swap", "flip", "cut",
                                        "insert", "deep"]))
        k = data.draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "json" and lines:
            try:
                lines[k] = _mutate_json(data, lines[k])
            except (ValueError, RecursionError):  # not JSON (any more): leave it
                pass
        elif op == "drop" and lines:
            lines.pop(k)
        elif op == "dup" and lines:
            lines.insert(k, lines[k])
        elif op == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[k], lines[j] = lines[j], lines[k]
        elif op == "flip" and lines and lines[k]:
            b = bytearray(lines[k])
            b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
            lines[k] = bytes(b)
        elif op == "cut" and lines:
            lines[k] = lines[k][: data.draw(st.integers(0, len(lines[k])))]
        elif op == "insert":
            lines.insert(k, data.draw(st.binary(max_size=30)))
        elif op == "deep":
            depth = data.draw(st.sampled_from([50, 5000, 100_000]))
            lines.insert(k, b"[" * depth + b"]" * depth)
    text = b"\n".join(lines) + (b"\n" if data.draw(st.booleans()) else b"")
    p = folder / "fuzz.journal.jsonl"
    p.write_bytes(text)
    try:
        jr = Journal.read(p)
    except JournalError as exc:
        assert str(p) in str(exc), exc
        return
    assert all(isinstance(i, int) and i >= 0 for i in jr.rows)
    try:
        table = assemble(p, partial=True)
    except ValueError as exc:
        assert str(p) in str(exc) or "journal" in str(exc), exc
    else:
        table.validate()
        assert table.T == jr.header["epochs"]
    try:  # resuming with this run's header: accepted or refused by name
        Journal(p, header)
    except JournalError as exc:
        assert str(p) in str(exc), exc

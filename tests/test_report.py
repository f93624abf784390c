"""lcore.report: one replay serves every goal, the report runs, resumes and reproduces."""

import json

import numpy as np
import pytest

import lcore
from lcore.report import at_goal, rule_grid, run_report
from lcore.stopping import ETR1, ETR2, MedianRule
from lcore.table import synthetic

FIELDS = ("success", "time_to_goal", "n_evaluated", "n_stopped", "epochs_trained", "best_acc",
          "n_harmful_stops")


@pytest.fixture(scope="module")
def table():
    return synthetic("mnist_lenet5", n=400, epochs=6, seed=5)


@pytest.mark.parametrize("chooser", ["random", "rf-ei"])
def test_one_replay_serves_a_looser_goal_exactly(table, chooser):
    rules = ["none", ETR1(tau=1), ETR2(p=0.9), MedianRule()]
    kw = dict(repeats=5, seed=3, chooser=chooser, max_evals=80, progress=False)
    strict = lcore.simulate(table, rule=rules, goal="top0.5%", trace=True, **kw)
    for loose in ("top1%", "top3%", float(np.float32(table.resolve_goal("top2%")))):
        direct = lcore.simulate(table, rule=rules, goal=loose, trace=True, **kw)
        for s, d in zip(strict, direct):
            cut = at_goal(s, table, loose)
            assert cut.goal == d.goal
            for f in FIELDS:
                assert np.array_equal(getattr(cut, f), getattr(d, f)), (s.rule, loose, f)
            for a, b in zip(cut.traces, d.traces):
                for k in b:
                    assert np.array_equal(a[k], b[k])
            assert lcore.results.compare(cut, direct[0])["n_pairs"] >= 0  # pairs with direct


def test_at_goal_errors(table):
    r = lcore.simulate(table, rule="none", goal="top1%", repeats=2, progress=False)
    with pytest.raises(ValueError, match=r"at_goal needs results with traces"):
        at_goal(r, table, "top2%")
    rt = lcore.simulate(table, rule="none", goal="top1%", repeats=2, progress=False, trace=True)
    with pytest.raises(ValueError, match=r"at_goal needs a goal no stricter than the run's"):
        at_goal(rt, table, "top0.25%")
    rt.settings["n_workers"] = 3
    with pytest.raises(ValueError, match="at_goal needs one worker, got n_workers=3"):
        at_goal(rt, table, "top2%")


def test_rule_grid():
    rules, notes = rule_grid(10, taus=(1, 3, 9, 12), ps=(0.5, 0.9))
    labels = [r.label for r in rules]
    assert labels[:6] == ["none", "etr1(tau=1)", "etr1(tau=3)", "etr1(tau=9)", "etr2(p=0.5)",
                          "etr2(p=0.9)"]
    assert "median" in labels
    from lcore.stopping.registry import RULES

    assert {getattr(r, "name", "") for r in rules} | {n.split("'")[1] for n in notes
                                                      if "registered" in n} >= set(RULES)
    assert any("etr1(tau=12) left out" in n for n in notes)
    kept, _ = rule_grid(10, names=["etr2"])
    assert [r.name for r in kept] == ["none", "etr2", "etr2", "etr2", "etr2"]
    with pytest.raises(ValueError, match=r"rules \['etr7'\] are not in the report's grid"):
        rule_grid(10, names=["etr7"])


def _numbers(path):
    data = json.loads((path / "report.json").read_text())
    data.pop("run")
    return data


def test_report_runs_resumes_and_reproduces(tmp_path, table):
    tpath = table.save(tmp_path / "t.npz")
    out = tmp_path / "rep"
    lines = []
    kw = dict(tables=[str(tpath)], out=out, repeats=4, seed=1, n_jobs=1, taus=(1,),
              ps=(0.9,), max_evals=60, log=lines.append)
    md = run_report(**kw)
    text = md.read_text()
    n_cells = int(lines[0].split(": ")[1].split(" cells")[0])
    # rf-ei and random x every rule of the grid + rf-ei oracle x the stopping rules (all but
    # none); the grid holds every registered rule that runs with its defaults
    n_rules = len(rule_grid(table.T, taus=(1,), ps=(0.9,))[0])
    assert n_cells == 2 * n_rules + (n_rules - 1)
    assert sum(": cached (" in ln for ln in lines) == 0
    assert sum(ln.startswith("[") and "about" in ln for ln in lines) == n_cells
    for needle in ("#### Goal top0.25%", "#### Goal top0.5%", "### The oracle leak",
                   "### Why ETR-1 saves little under rf-ei", "time ratio vs none",
                   "harmful stops", "![learning curves]"):
        assert needle in text
    imgs = sorted(p.name for p in (out / "img").iterdir())
    assert len(imgs) == 1 + 2 * 2 + 2 + 1  # curves, 2 choosers x 2 goals, 2 anytime, oracle
    assert all((out / "img" / p).stat().st_size > 10_000 for p in imgs)
    first = _numbers(out)
    # the numbers are the ones simulate gives directly
    direct = lcore.simulate(table, rule=ETR1(tau=1), goal="top0.5%", repeats=4, seed=1,
                            max_evals=60, progress=False)
    cell = first["tables"][0]["cells"]["rf-ei|report|top0.5%"]
    got = next(c for c in cell if c["rule"] == "etr1(tau=1)")
    want = direct.summary(unit="h")
    assert got["n_censored"] == want["n_censored"]
    assert got["time_to_goal_median"] == pytest.approx(want["time_to_goal_median"])
    assert got["n_harmful_stops_total"] == want["n_harmful_stops_total"]
    # a second run reuses every cell and writes the same numbers
    lines.clear()
    run_report(**kw)
    assert sum(": cached (" in ln for ln in lines) == n_cells
    assert _numbers(out) == first
    assert md.read_text() == text  # the same report, timings included (from the cells)
    # a damaged cell is recomputed, the others are reused
    victim = sorted((out / "cells").glob("*.npz"))[0]
    victim.write_bytes(b"garbage")
    lines.clear()
    run_report(**kw)
    assert sum(": cached (" in ln for ln in lines) == n_cells - 1
    assert _numbers(out) == first


def test_report_of_two_tables(tmp_path, table):
    md = run_report(tables=[table, table], out=tmp_path, repeats=2, n_jobs=1,
                    choosers=("random",), rules=["etr1"], taus=(1,), oracle=False,
                    max_evals=30, goals=("top5%", "top10%"), log=lambda m: None)
    text = md.read_text()
    assert text.count("## Table `mnist_lenet5`") == 2
    imgs = {p.name for p in (tmp_path / "img").iterdir()}
    assert "mnist_lenet5_curves.png" in imgs and "mnist_lenet5_2_curves.png" in imgs
    assert "Findings" in text and "the most evaluations any successful repeat needed" in text


def test_report_errors(tmp_path):
    with pytest.raises(ValueError, match="repeats must be an int >= 2, got 1"):
        run_report(out=tmp_path, repeats=1)
    with pytest.raises(ValueError, match=r"choosers must be among 'rf-ei', 'random', got"):
        run_report(out=tmp_path, choosers=("bo",))
    with pytest.raises(ValueError, match="goals must name at least one goal"):
        run_report(out=tmp_path, goals=())

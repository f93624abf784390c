import json
import subprocess
import sys

import numpy as np
import pytest

from lcore.cli import main
from lcore.table import synthetic


def test_import_is_light():
    code = (
        "import sys, lcore; lcore.load_table; import lcore.stopping, lcore.table, lcore.space;"
        "heavy = [m for m in ('torch', 'matplotlib', 'optuna', 'sklearn', 'scipy', 'pandas')"
        " if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_table_info_and_list(capsys):
    assert main(["table", "list"]) == 0
    names = capsys.readouterr().out.split()
    assert names
    assert main(["table", "info"]) == 0
    out = capsys.readouterr().out
    assert "configurations" in out and "top0.5%" in out and "untrainable" in out


def test_simulate_default_table_out_and_plots(tmp_path, capsys):
    out = tmp_path / "r.npz"
    fig = tmp_path / "box.png"
    rc = main(["simulate", "--rule", "none,etr1", "--tau", "1", "--repeats", "3", "--quiet",
               "--chooser", "random", "--out", str(out), "--plot", str(fig)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "etr1(tau=1)" in text and "median time ratio" in text
    assert out.exists() and fig.stat().st_size > 1000
    fig2 = tmp_path / "again.png"
    assert main(["plot", str(out), "--out", str(fig2)]) == 0
    assert fig2.stat().st_size > 1000
    curves = tmp_path / "curves.png"
    assert main(["plot", "--curves", "--n", "20", "--out", str(curves)]) == 0
    assert curves.stat().st_size > 1000


def test_simulate_several_values_per_flag(capsys):
    rc = main(["simulate", "--rule", "none,etr1,etr2", "--tau", "1,3", "--p", "0.8",
               "--repeats", "2", "--quiet", "--chooser", "random"])
    assert rc == 0
    out = capsys.readouterr().out
    for label in ("etr1(tau=1)", "etr1(tau=3)", "etr2(p=0.8)"):
        assert label in out
    assert main(["simulate", "--rule", "none,median", "--tau", "1,3", "--quiet"]) == 2
    assert "fit none of the rules" in capsys.readouterr().err
    assert main(["simulate", "--rule", "etr1", "--tau", "one", "--quiet"]) == 2
    assert "--tau takes comma-separated numbers" in capsys.readouterr().err


def test_simulate_table_file_and_errors(tmp_path, capsys):
    path = synthetic("mnist_lenet5", n=500, epochs=5, seed=0).save(tmp_path / "t.npz")
    assert main(["simulate", str(path), "--rule", "median", "--repeats", "2", "--quiet",
                 "--json", "--chooser", "random"]) == 0
    captured = capsys.readouterr()
    summaries = json.loads(captured.out)  # stdout is only JSON, strict: no Infinity
    assert summaries[0]["rule"] == "median" and summaries[0]["unit"] == "h"
    assert summaries[0]["repeats"] == 2 and "n_censored" in summaries[0]
    assert "goal =" in captured.err and "table:" in captured.err  # the text goes to stderr
    assert main(["simulate", str(path), "--rule", "etr9", "--quiet"]) == 2
    assert "unknown rule 'etr9'" in capsys.readouterr().err
    assert main(["simulate", str(path), "--rule", "etr1", "--tau", "9", "--quiet"]) == 2
    assert "tau must be an int in [1, T-1] = [1, 4], got 9" in capsys.readouterr().err
    assert main(["table", "info", str(tmp_path / "missing.npz")]) == 2


def test_simulate_threads_flag(tmp_path, capsys):
    path = synthetic("mnist_lenet5", n=400, epochs=5, seed=1).save(tmp_path / "t.npz")
    outs = []
    for threads in ("1", "2"):
        assert main(["simulate", str(path), "--rule", "etr1", "--tau", "1", "--repeats", "2",
                     "--max-evals", "25", "--quiet", "--json", "--threads", threads]) == 0
        outs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert outs[0] == outs[1]  # only the speed differs
    assert main(["simulate", str(path), "--chooser", "random", "--threads", "2",
                 "--quiet"]) == 2
    assert "--threads goes with --chooser rf-ei" in capsys.readouterr().err
    assert main(["simulate", str(path), "--threads", "0", "--quiet"]) == 2
    assert "n_threads must be an int between 1 and 64" in capsys.readouterr().err


def test_console_script_runs():
    exe = [sys.executable, "-m", "lcore.cli", "simulate", "--rule", "etr1", "--tau", "1",
           "--repeats", "2", "--quiet", "--chooser", "random"]
    out = subprocess.run(exe, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "goal =" in out.stdout


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "--help"], ["pretrain", "--help"]])
def test_help(argv):
    proc = subprocess.run([sys.executable, "-m", "lcore.cli", *argv], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "usage" in proc.stdout.lower()
    assert np.any([w in proc.stdout for w in ("simulate", "pretrain", "preset")])


def test_version(capsys):
    import lcore

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"lcore {lcore.__version__}"


def test_help_shows_defaults():
    from lcore.cli import build_parser

    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "command").choices
    text = sub["simulate"].format_help()
    assert "(default: top0.5%)" in text and "default: 50" in text and "default: 0" in text
    assert "(default: None)" not in text and "(default: False)" not in text
    rep = sub["report"].format_help()
    assert "default: 1,3,9" in rep and "default: 0.5,0.8,0.9,0.95" in rep
    assert "default: 500" in rep and "default: rf-ei,random" in rep


def test_simulate_text_units_and_plot_kinds(tmp_path, capsys):
    path = synthetic("mnist_lenet5", n=300, epochs=5, seed=2).save(tmp_path / "t.npz")
    res = tmp_path / "r.npz"
    assert main(["simulate", str(path), "--rule", "none,etr1", "--tau", "1", "--repeats", "3",
                 "--chooser", "random", "--quiet", "--unit", "min", "--trace",
                 "--out", str(res)]) == 0
    text = capsys.readouterr().out
    assert "median min" in text and "reached" in text and "missed" in text
    for kind in ("summary", "box", "ecdf", "km", "anytime", "regret"):
        fig = tmp_path / f"{kind}.png"
        assert main(["plot", str(res), "--kind", kind, "--unit", "s", "--out", str(fig)]) == 0
        assert fig.stat().st_size > 5000
    bare = tmp_path / "bare.npz"
    assert main(["simulate", str(path), "--repeats", "2", "--chooser", "random", "--quiet",
                 "--out", str(bare)]) == 0
    capsys.readouterr()
    assert main(["plot", str(bare), "--kind", "anytime", "--out", str(tmp_path / "x.png")]) == 2
    assert "--kind anytime needs traces" in capsys.readouterr().err


def test_report_command(tmp_path, capsys):
    path = synthetic("mnist_lenet5", n=300, epochs=5, seed=4).save(tmp_path / "t.npz")
    out = tmp_path / "rep"
    argv = ["report", str(path), "--out", str(out), "--repeats", "3", "--n-jobs", "1",
            "--choosers", "random", "--tau", "1", "--p", "0.9", "--rules", "etr1",
            "--max-evals", "40"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "README.md")
    assert "[1/2]" in captured.err and "[2/2]" in captured.err
    assert "etr1(tau=1)" in (out / "README.md").read_text()
    assert main(argv + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["report", "--out", str(out), "--tau", "x"]) == 2
    assert "--tau takes comma-separated values, got 'x'" in capsys.readouterr().err


def test_simulate_workers_flag(capsys):
    assert main(["simulate", "--rule", "none", "--repeats", "2", "--quiet", "--chooser",
                 "random", "--workers", "4"]) == 0
    out = capsys.readouterr().out
    assert "2/2" in out and "14×14" in out
    assert main(["simulate", "--repeats", "2", "--quiet", "--chooser", "random",
                 "--workers", "0"]) == 2
    assert "n_workers must be an int in [1, 4096], got 0" in capsys.readouterr().err


def test_rule_flags_take_the_type_each_rule_wants(capsys):
    """One flag serves rules whose parameter differs in type (ray-asha's reduction_factor is a
    float, optuna-sh's an int); each rule checks its own."""
    assert main(["simulate", "--rule", "ray-asha", "--reduction-factor", "1.5", "--chooser",
                 "random", "--repeats", "1", "--quiet"]) == 0
    assert "ray-asha(reduction_factor=1.5)" in capsys.readouterr().out
    assert main(["simulate", "--rule", "optuna-sh", "--reduction-factor", "1.5",
                 "--repeats", "1"]) != 0
    assert "reduction_factor must be an int" in capsys.readouterr().err

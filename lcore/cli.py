"""The ``lcore`` command: ``simulate``, ``report``, ``table``, ``plot``, ``pretrain``.

    lcore simulate [TABLE] --rule etr1 --tau 1 --repeats 50 [--goal top0.5%] [--n-jobs 2]
                   [--out results.npz] [--plot fig.png]
    lcore table info [TABLE] | lcore table list
    lcore table import FORMAT PATH --out T.npz [--dataset D] [--set KEY=VALUE ...]
    lcore table fetch NAME --root DIR [--sha256 HEX]
    lcore report [TABLE ...] --out DIR            (the paper's experiment as a Markdown report)
    lcore plot results.npz --out fig.png         (time-to-goal box plots + CDF, Fig. 4/5 style)
    lcore plot --curves [TABLE] --out fig.png     (learning-curve panels, Fig. 1/2 style)
    lcore pretrain --preset mnist_lenet5 --data-root DIR --n 2000 --epochs 15 --out T.npz
"""

from __future__ import annotations

import argparse
import json
import math
import sys

UNIT_CHOICES = ("s", "min", "h", "epochs")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default in --help, except where there is none to show."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False \
                or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kw)

    def add_argument(self, *args, **kw):
        # an option without a help text still shows its default
        default = kw.get("default")
        if kw.get("help") is None and default is not None and default is not False \
                and kw.get("action") not in ("version", "help"):
            kw["help"] = "default: %(default)s"
        return super().add_argument(*args, **kw)


def _rule_flags() -> dict:
    from lcore.stopping.registry import rule_flags

    return rule_flags()  # from the rule classes: every numeric parameter of every rule


_RULE_FLAGS = _rule_flags()

# what the flags of the paper's rules say; the others name the rules that take them
_FLAG_HELP = {
    "tau": "ETR-1 decision epoch (several: 1,3,9)",
    "r": "ETR-1 chance level (default 0.1)",
    "eps": "ETR-1 margin (default 0.05)",
    "p": "ETR-2 share of the best completed curve (several: 0.8,0.9)",
    "q": "ETR-2 knee share (default 0.75)",
    "min_completed": "median rule: completed rows needed",
    "warmup": "median rule: first epoch it may stop at",
}


def _rule_names() -> list:
    from lcore.stopping.registry import RULES

    return list(RULES)


def _flag_help(k: str) -> str:
    from lcore.stopping.registry import RULES

    takers = [n for n, cls in RULES.items() if k in cls.param_defaults()]
    text = _FLAG_HELP.get(k, "parameter " + k)
    others = [n for n in takers if k not in _FLAG_HELP or n in ("etr1", "etr2", "median")]
    extra = [n for n in takers if n not in others]
    if k not in _FLAG_HELP:
        return f"{text} of {', '.join(takers)} (several: comma-separated)"
    return text + (f"; also {', '.join(extra)}" if extra else "")


def _number(text: str):
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _rule_specs(args):
    """Rule(s) from --rule (comma-separated names) and the parameter flags.

    A flag may list several values (``--tau 1,3,9``): each rule that takes it is run once
    per value (per combination), all on common random numbers, as in the paper's Fig. 4.
    """
    import itertools

    from lcore.stopping import get_rule
    from lcore.stopping.registry import RULES

    names = [r.strip() for r in args.rule.split(",") if r.strip()]
    values = {}
    for k in _RULE_FLAGS:
        text = getattr(args, k)
        if text is None:
            continue
        try:
            # an int where the text is one (rules differ: ray-asha's reduction_factor is a
            # float, optuna-sh's an int); each rule then checks its own type
            values[k] = [_number(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"--{k.replace('_', '-')} takes comma-separated numbers, "
                             f"got {text!r}") from None
    if len(names) == 1 and all(len(v) == 1 for v in values.values()):
        return names[0], {k: v[0] for k, v in values.items()}
    rules, used = [], set()
    for name in names:
        if name not in RULES:
            return names, {}  # simulate() reports the unknown name with the known ones
        accepted = list(RULES[name].param_defaults())
        mine = {k: v for k, v in values.items() if k in accepted}
        used |= set(mine)
        keys = list(mine)
        for combo in itertools.product(*(mine[k] for k in keys)):
            rules.append(get_rule(name, **dict(zip(keys, combo))))
    unused = sorted(set(values) - used)
    if unused:
        raise ValueError(f"rule parameters {unused} fit none of the rules {names}")
    return rules, {}


def _goal(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def cmd_simulate(args) -> int:
    import lcore
    from lcore.results import ResultsList, format_summary
    from lcore.table import load_table

    table = load_table(args.table)
    rule, params = _rule_specs(args)
    # several taus / ps for one rule name: --tau 1,3,9 expands into rule objects
    chooser_params = {}
    if args.threads is not None:
        if args.chooser != "rf-ei":
            raise ValueError(f"--threads goes with --chooser rf-ei, not {args.chooser!r}")
        chooser_params["n_threads"] = args.threads
    res = lcore.simulate(
        table, rule=rule, goal=_goal(args.goal), repeats=args.repeats, seed=args.seed,
        n_jobs=args.n_jobs, chooser=args.chooser, chooser_params=chooser_params,
        n_init=args.n_init,
        max_evals=args.max_evals, max_time=args.max_time, terminated=args.terminated,
        objective=args.objective, progress=not args.quiet, trace=args.trace,
        n_workers=args.workers, **params,
    )
    results = res if isinstance(res, ResultsList) else ResultsList([res])
    results.set_table(table)  # what figures say about the table (name, model, data, best)
    # with --json, stdout carries only the JSON; the human-readable text goes to stderr
    out = sys.stderr if args.json else sys.stdout
    tm = results[0].settings.get("table_meta") or {}
    print(f"table: {table!r}" + (f"; {tm['data']}" if tm.get("data") else ""), file=out)
    print(format_summary(results, unit=args.unit), file=out)
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            c = lcore.results.compare(r, base)
            print(
                f"{r.rule} vs {base.rule}: median time ratio {c['median_ratio']:.3f} "
                f"[{c['ci_low']:.3f}, {c['ci_high']:.3f}] (95% bootstrap), "
                f"{r.rule} sooner in {c['share_a_better']:.0%} of repeats", file=out
            )
    if args.out:
        print(f"results written to {results.save(args.out)}", file=out)
    if args.plot:
        _save_plot(lambda: results.plot_summary(unit=args.unit), args.plot, file=out)
    if args.json:
        print(json.dumps([_finite(r.summary(unit=args.unit)) for r in results],
                         allow_nan=False))
    return 0


def _finite(x):
    """inf / NaN -> None, recursively (JSON has no infinity)."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _save_plot(draw, path, file=None):
    import matplotlib

    matplotlib.use("Agg")
    ax = draw()
    fig = ax[0].figure if hasattr(ax, "__len__") else ax.figure
    fig.savefig(path, dpi=120)
    print(f"figure written to {path}", file=file or sys.stdout)


def _table_options(pairs):
    """``--set key=value`` pairs -> options (numbers and true/false/none parsed)."""
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        low = v.strip().lower()
        if low in ("true", "false"):
            out[k] = low == "true"
        elif low == "none":
            out[k] = None
        else:
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


def cmd_table(args) -> int:
    from lcore.table import list_tables, load_table

    if args.action == "list":
        for d in list_tables(details=True):
            print(f"{d['name']}: n={d['n']} x T={d['T']}  {d['metric']} ({d['mode']})  "
                  f"source: {d['source']}")
        return 0
    if args.action == "import":
        from lcore.tables import import_table

        if not args.table or not args.path:
            raise ValueError("usage: lcore table import FORMAT PATH --out T.npz")
        if not args.out:
            raise ValueError("lcore table import needs --out T.npz")
        opts = _table_options(args.set)
        if args.dataset is not None:
            opts["dataset"] = args.dataset
        table = import_table(args.table, args.path, **opts)
        print(table.describe())
        print(f"table written to {table.save(args.out)}")
        return 0
    if args.action == "fetch":
        from lcore.tables.fetch import FetchError, fetch

        if not args.table or not args.root:
            raise ValueError("usage: lcore table fetch NAME --root DIR")
        try:
            got = fetch(args.table, args.root, sha256=args.sha256)
        except FetchError as exc:
            print(f"lcore table fetch: {exc}", file=sys.stderr)
            return 3
        print(got["status"])
        print(f"next: {got['import_hint']}")
        return 0
    table = load_table(args.table)
    print(table.describe())
    return 0


def cmd_plot(args) -> int:
    if args.curves:
        from lcore.results import plot_curves
        from lcore.table import load_table

        table = load_table(args.source)
        _save_plot(lambda: plot_curves(table, n=args.n), args.out)
        return 0
    if not args.source:
        raise SystemExit("lcore plot: give a results file (from lcore simulate --out)")
    from lcore.results import ResultsList

    results = ResultsList.load(args.source)
    draw = {
        "summary": lambda: results.plot_summary(unit=args.unit),
        "box": lambda: results.plot(unit=args.unit),
        "ecdf": lambda: results.plot_ecdf(unit=args.unit),
        "km": lambda: results.plot_ecdf(unit=args.unit, method="km"),
        "anytime": lambda: results.plot_anytime(unit=args.unit),
        "regret": lambda: results.plot_anytime(unit=args.unit, regret=True),
    }[args.kind]
    if args.kind in ("anytime", "regret") and any(r.traces is None for r in results):
        raise ValueError(f"--kind {args.kind} needs traces: make the results with "
                         "lcore simulate --trace --out FILE")
    _save_plot(draw, args.out)
    return 0


def _csv(text: str, conv, flag: str) -> list:
    try:
        return [conv(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated values, got {text!r}") from None


def cmd_report(args) -> int:
    from lcore.report import run_report

    tables = args.tables or [None]
    cmd = "lcore report " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["report"] else None
    path = run_report(
        tables=tables, out=args.out, repeats=args.repeats, seed=args.seed, n_jobs=args.n_jobs,
        goals=[_goal(g) for g in _csv(args.goals, str, "--goals")],
        choosers=_csv(args.choosers, str, "--choosers"),
        taus=_csv(args.tau, int, "--tau"), ps=_csv(args.p, float, "--p"),
        rules=None if args.rules is None else _csv(args.rules, str, "--rules"),
        max_evals=None if args.max_evals == 0 else args.max_evals,
        oracle=not args.no_oracle, command=cmd,
        log=(lambda msg: None) if args.quiet else None,
    )
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    import lcore

    p = _Parser(
        prog="lcore",
        description="Replay hyperparameter optimization with early-termination rules on "
        "lookup tables.",
    )
    p.add_argument("--version", action="version", version=f"lcore {lcore.__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("simulate", help="replay HPO with a stopping rule on a lookup table")
    s.add_argument("table", nargs="?", default=None,
                   help="a table .npz or a shipped table name (default: the shipped table)")
    s.add_argument("--rule", default="none",
                   help="a rule name (lcore.stopping.RULES: " + ", ".join(_rule_names())
                   + "), or several separated by commas")
    for k in _RULE_FLAGS:  # one flag per numeric rule parameter, from the rule classes
        s.add_argument("--" + k.replace("_", "-"), dest=k, help=_flag_help(k))
    s.add_argument("--goal", default="top0.5%", help="accuracy (0.992) or share (top0.5%%)")
    s.add_argument("--repeats", type=int, default=50)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--n-jobs", type=int, default=1)
    s.add_argument("--chooser", default="rf-ei", help="rf-ei or random")
    s.add_argument("--threads", type=int,
                   help="threads per rf-ei step (same results; e.g. 2 with --n-jobs 1)")
    s.add_argument("--workers", type=int, default=1,
                   help="rows trained at once in each simulated run (n_workers)")
    s.add_argument("--n-init", type=int, default=1)
    s.add_argument("--max-evals", type=int)
    s.add_argument("--max-time", type=float, help="seconds of simulated time")
    s.add_argument("--terminated", default="report", choices=("report", "exclude", "oracle"))
    s.add_argument("--objective", default="final", choices=("final", "best"))
    s.add_argument("--trace", action="store_true", help="keep per-repeat traces in --out")
    s.add_argument("--out", help="write the results to this .npz")
    s.add_argument("--plot", help="write a Fig. 4-style box plot to this image file")
    s.add_argument("--unit", default="h", choices=UNIT_CHOICES,
                   help="unit of the printed times, the JSON summaries and the figure")
    s.add_argument("--json", action="store_true",
                   help="print the summaries as JSON on stdout (everything else to stderr)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_simulate)

    t = sub.add_parser("table", help="inspect, import or fetch lookup tables")
    t.add_argument("action", choices=("info", "list", "import", "fetch"))
    t.add_argument("table", nargs="?", default=None,
                   help="info: a table .npz or shipped table name (default: the shipped "
                   "table); import: the FORMAT; fetch: the data set NAME")
    t.add_argument("path", nargs="?", default=None, help="import: the benchmark's file")
    t.add_argument("--out", help="import: the table .npz to write")
    t.add_argument("--dataset", help="import: the dataset / task where a file holds several")
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="import: a format option (e.g. --set metric=valid_mse --set seed=0)")
    t.add_argument("--root", help="fetch: the folder to download into")
    t.add_argument("--sha256", help="fetch: the expected SHA-256 of the download")
    t.set_defaults(func=cmd_table)

    pl = sub.add_parser("plot", help="plot results (box plots) or a table's learning curves")
    pl.add_argument("source", nargs="?", default=None,
                    help="results .npz (or, with --curves, a table; default the shipped one)")
    pl.add_argument("--curves", action="store_true",
                    help="Fig. 1-style panels of random / top / bottom learning curves")
    pl.add_argument("--n", type=int, default=100, help="curves per panel")
    pl.add_argument("--kind", default="summary",
                    choices=("summary", "box", "ecdf", "km", "anytime", "regret"),
                    help="summary: box plots over all repeats + share at the goal over time; "
                    "anytime / regret: best value so far (needs --trace results)")
    pl.add_argument("--unit", default="h", choices=UNIT_CHOICES, help="time unit")
    pl.add_argument("--out", required=True, help="image file to write")
    pl.set_defaults(func=cmd_plot)

    rp = sub.add_parser(
        "report", help="the paper's experiment as one command: a Markdown report with figures",
        description="Run the rule grid (none, ETR-1 per tau, ETR-2 per p, median, every other "
        "registered rule) x goals x choosers x repeats on each table, and write DIR/README.md "
        "with figures in DIR/img and every number in DIR/report.json. Finished cells are "
        "cached in DIR/cells: a second run reuses them, an interrupted run resumes.")
    rp.add_argument("tables", nargs="*", metavar="TABLE",
                    help="table .npz files or shipped table names (default: the shipped table)")
    rp.add_argument("--out", required=True, help="report folder (created)")
    rp.add_argument("--repeats", type=int, default=50)
    rp.add_argument("--seed", type=int, default=0)
    rp.add_argument("--n-jobs", type=int, default=2)
    rp.add_argument("--goals", default="top0.25%,top0.5%",
                    help="comma-separated goals (shares or values)")
    rp.add_argument("--choosers", default="rf-ei,random")
    rp.add_argument("--tau", default="1,3,9", help="ETR-1 decision epochs")
    rp.add_argument("--p", default="0.5,0.8,0.9,0.95", help="ETR-2 shares")
    rp.add_argument("--rules", help="rule names (none always stays; default the paper's: "
                    "none,etr1,etr2,median), e.g. etr1 for a smaller grid, or 'all' for every "
                    "registered rule that runs with its defaults")
    rp.add_argument("--max-evals", type=int, default=500,
                    help="evaluations before a repeat counts as a miss (0: the whole table)")
    rp.add_argument("--no-oracle", action="store_true",
                    help="skip the terminated='oracle' runs (the leak section)")
    rp.add_argument("--quiet", action="store_true", help="no progress lines")
    rp.set_defaults(func=cmd_report)

    # listed for --help only: main() hands `lcore pretrain ...` to lcore.pretrain.cli, so that
    # the other commands never import torch
    sub.add_parser("pretrain", help="train configurations into a lookup table (needs the "
                   "pretrain extra: torch); see lcore pretrain --help", add_help=False)
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "pretrain":
        try:
            from lcore.pretrain.cli import main as pretrain_main
        except ImportError as exc:
            print(f"lcore pretrain needs the pretrain extra (pip install 'lcore[pretrain]'): "
                  f"{exc}", file=sys.stderr)
            return 2
        return int(pretrain_main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"lcore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

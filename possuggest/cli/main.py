"""The ``possuggest`` command line: demo-db, refresh, suggest, rules, rule-sets, rollback,
evaluate, report, info, simulate, serve and gui (the default)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from possuggest import __version__
from possuggest.cli.progressbar import ProgressBar
from possuggest.core.errors import PossuggestError
from possuggest.core.logsetup import setup_logging
from possuggest.services import app
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)

DEMO_SALES = app.DEMO_SALES

Command = Callable[[argparse.Namespace, AppContext], int]


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    d = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument("--data-dir", metavar="DIR", default=d,
                   help="possuggest's own folder: rule database, config and logs "
                        "(default: the platform's data folder)")
    g.add_argument("--till-db", metavar="PATH", default=d,
                   help="till database (SQLite, opened read-only); default: from the config, "
                        "else the demo store in the data folder")
    g.add_argument("--config", metavar="FILE", default=d,
                   help="config file (default: config.toml in the config folder)")
    g.add_argument("-v", "--verbose", action="store_true",
                   default=argparse.SUPPRESS if suppress else False,
                   help="log debug detail to stderr")
    g.add_argument("--debug", action="store_true",
                   default=argparse.SUPPRESS if suppress else False,
                   help="as --verbose, and an error also prints its traceback; a crash prints "
                        "every thread's stack (for support)")


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _verbose(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "verbose", False))


def _bar(quiet: bool) -> ProgressBar | None:
    return None if quiet else ProgressBar()


# -- commands: each parses, calls one service, prints ------------------------------------------
def cmd_demo_db(args: argparse.Namespace, ctx: AppContext) -> int:
    from datetime import date

    from possuggest.demo.generator import build_demo_store

    if args.sales < 1:
        raise PossuggestError("--sales must be at least 1")
    if args.seed < 0:
        raise PossuggestError(f"--seed must be 0 or more, got {args.seed}")
    end = None
    if args.end_date:
        try:
            end = date.fromisoformat(args.end_date)
        except ValueError:
            raise PossuggestError(f"--end-date: not a date (YYYY-MM-DD): {args.end_date}") from None
    path = Path(args.path)
    if not path.parent.exists():
        raise PossuggestError(f"folder does not exist: {path.parent}")
    if not ctx.uses_demo and _same_file(path, ctx.till_path):
        raise PossuggestError(f"{path} is the configured till database: demo-db never "
                              "replaces it; nothing was changed")
    setup_logging(None, _verbose(args))
    bar = ProgressBar()
    # only a missing file, or with --force a demo store demo-db wrote, is ever replaced
    summary = build_demo_store(path, sales=args.sales, seed=args.seed, end_date=end,
                               progress=None if args.quiet else bar,
                               replace="demo" if args.force else "nothing")
    bar.done()
    _out(f"demo store written to {path}: {summary.products:,} products, {summary.sales:,} sales, "
         f"{summary.lines:,} lines in {summary.seconds:.1f} s")
    return 0


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links followed; by name when either is missing)."""
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def cmd_refresh(args: argparse.Namespace, ctx: AppContext) -> int:
    bar = _bar(args.quiet)
    plan = app.prepare(ctx, _verbose(args), progress=bar)
    from possuggest.services.refresh import run_recorded_refresh

    # one refresh at a time (the panel's console, its nightly timer, another scheduler)
    outcome = run_recorded_refresh(plan, ctx.paths.lock_dir, args.started_by, progress=bar)
    if bar is not None:
        bar.done()
    _out(outcome.text())
    return 0


def cmd_suggest(args: argparse.Namespace, ctx: AppContext) -> int:
    sugs = app.suggest(ctx, args.skus, n=args.n, verbose=_verbose(args))
    if args.json:
        _out(json.dumps([{"kind": s.kind, "sku": s.sku, "name": s.name, "price": round(s.price, 2),
                          "reason": s.reason, "score": round(s.score, 6)} for s in sugs],
                        ensure_ascii=False))
        return 0
    if not sugs:
        _out("No suggestions for this basket.")
    for k, s in enumerate(sugs, 1):
        _out(f"{k}. [{s.badge}] {s.name} ({s.sku}) {s.price_text}\n   {s.reason}")
    return 0


def _clean(v: Any) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def cmd_rules(args: argparse.Namespace, ctx: AppContext) -> int:
    active, rows = app.list_rules(ctx, sku=args.sku, kind=args.kind, limit=args.limit,
                                  verbose=_verbose(args))
    if args.json:
        _out(json.dumps([{"antecedent": r["antecedent"], "consequent": r["consequent"],
                          "kind": r["kind"], "count": r["count"], "support": _clean(r["support"]),
                          "confidence": _clean(r["confidence"]), "lift": _clean(r["lift"])}
                         for r in rows], ensure_ascii=False))
        return 0
    _out(f"rule set {active.id} ({active.created_at}), {len(rows)} rule(s) shown")
    _out(f"{'kind':<8} {'antecedent':<34} {'consequent':<18} {'count':>7} {'conf':>6} {'lift':>6}")
    for r in rows:
        lift = "" if _clean(r["lift"]) is None else f"{r['lift']:.2f}"
        _out(f"{r['kind']:<8} {' + '.join(r['antecedent'])[:34]:<34} {r['consequent'][:18]:<18} "
             f"{r['count']:>7} {r['confidence']:>6.2f} {lift:>6}")
    return 0


def cmd_rule_sets(args: argparse.Namespace, ctx: AppContext) -> int:
    sets, pinned = app.rule_sets(ctx, _verbose(args))
    if args.json:
        _out(json.dumps([{"id": s.id, "created_at": s.created_at, "active": s.active,
                          "pinned": s.id == pinned, "n_baskets": s.n_baskets,
                          "n_cross": s.n_cross, "n_upgrade": s.n_upgrade, "source": s.source,
                          "ease_lambda": s.params.get("ease_lambda"),
                          "scoring": s.params.get("scoring"), "tuning": s.params.get("tuning"),
                          "ranking": app.ranking_text(s.params)}
                         for s in sets]))
        return 0
    if not sets:
        _out("no rule sets yet: run 'possuggest refresh'")
    for s in sets:
        mark = "*" if s.active else " "
        pin = "  (pinned by rollback)" if s.id == pinned else ""
        _out(f"{mark} {s.id:>4}  {s.created_at}  {s.n_cross:>9,} cross  {s.n_upgrade:>6,} upgrade"
             f"  from {s.n_baskets:,} sales{pin}")
        _out(f"        ranking: {app.ranking_text(s.params)}")
    return 0


def cmd_rollback(args: argparse.Namespace, ctx: AppContext) -> int:
    if args.release:
        if args.rule_set is not None:
            raise PossuggestError("--release takes no rule set id")
        target = app.release(ctx, _verbose(args))
        _out(f"rule set {target} (the newest) is now active; refreshes activate their sets again")
        return 0
    target = app.rollback(ctx, args.rule_set, _verbose(args))
    _out(f"rule set {target} is now active and pinned: refreshes keep adding rule sets but do "
         f"not activate them until 'possuggest rollback --release'")
    return 0


def _has_screen() -> bool:
    import os

    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


# X11 libraries Qt's xcb plugin loads that minimal Linux installs lack (library: package)
_X11_LIBS = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4",
             "xcb-keysyms": "libxcb-keysyms1", "xkbcommon-x11": "libxkbcommon-x11-0"}


def _missing_x11_library() -> str | None:
    """Qt aborts the whole process when its X11 plugin cannot load: name what is missing first."""
    import ctypes.util
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM") \
            or not os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    bundle = getattr(sys, "_MEIPASS", None)       # the PyInstaller bundle carries its own
    missing = [pkg for lib, pkg in _X11_LIBS.items() if not ctypes.util.find_library(lib)
               and not (bundle and list(Path(bundle).glob(f"lib{lib}.so*")))]
    return " ".join(missing) or None


def cmd_info(args: argparse.Namespace, ctx: AppContext) -> int:
    """Where everything is, for installers: folders, config files in order, logs, till, rules."""
    from possuggest.core.config import example_config_text

    if args.example_config:
        sys.stdout.write(example_config_text())
        return 0
    rows, warnings = app.info(ctx)
    for label, value in rows:
        _out(f"{label + ':':<17}{value}")
    for w in warnings:
        _out(f"{'warning:':<17}{w}")
    return 0


def cmd_gui(args: argparse.Namespace, ctx: AppContext) -> int:
    if not _has_screen():
        raise PossuggestError("no screen found (DISPLAY is not set): the cashier panel needs a "
                              "desktop session; headless, try 'possuggest suggest MOW-STD'")
    missing = _missing_x11_library()
    if missing:
        raise PossuggestError(f"the cashier panel needs these system libraries: {missing} "
                              f"(Debian/Ubuntu: apt install {missing})")
    try:
        from possuggest.ui.app import run_gui
    except ImportError as exc:  # pragma: no cover - only without the Qt layer
        raise PossuggestError(f"the cashier panel is not available: {exc}") from None
    return run_gui(ctx, demo=bool(args.demo), exit_after=args.exit_after,
                   verbose=_verbose(args))


def cmd_serve(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.services.serve import run_serve

    def announce(text: str) -> None:
        _out(text)
        sys.stdout.flush()

    return run_serve(ctx, args.port, _verbose(args), announce=announce)


def cmd_simulate(args: argparse.Namespace, ctx: AppContext) -> int:
    """Learning from the counter, measured: simulated weeks at a simulated till; or, with
    --sales, the demo till run headless into the data folder for ``possuggest report``."""
    if args.sales is not None:
        return _simulate_sales(args, ctx)
    if args.weeks is None:
        args.weeks = 4
    if args.weeks < 1:
        raise PossuggestError(f"--weeks must be at least 1, got {args.weeks}")
    if args.sales_per_day < 1:
        raise PossuggestError(f"--sales-per-day must be at least 1, got {args.sales_per_day}")
    if args.seed < 0:
        raise PossuggestError(f"--seed must be 0 or more, got {args.seed}")
    folder = Path(args.dir) if args.dir else None
    bar = _bar(args.quiet)
    result = app.simulate(ctx, weeks=args.weeks, sales_per_day=args.sales_per_day,
                          seed=args.seed, learn=not args.no_feedback, folder=folder,
                          progress=bar)
    if bar is not None:
        bar.done()
    if args.json:
        _out(json.dumps({"feedback": result.feedback, "rules": result.n_rules,
                         "weeks": [{"week": w.week, "sales": w.sales, "shown": w.shown,
                                    "accepted": w.accepted, "dismissed": w.dismissed,
                                    "rate": round(w.rate, 4),
                                    "refused_shown": w.refused_shown,
                                    "refused_pairs_shown": len(w.refused_pairs),
                                    "refused_pairs_hidden": w.hidden_refused}
                                   for w in result.weeks]}))
        return 0
    _out(f"simulated counter: {result.sales_per_day} sales a day on a demo store "
         f"({result.n_rules:,} rules), feedback {'on' if result.feedback else 'off'}")
    _out(f"{'week':>4} {'sales':>6} {'shown':>6} {'accepted':>8} {'rate':>6}  "
         f"always-refused pairs still shown (shows)")
    for w in result.weeks:
        _out(f"{w.week:>4} {w.sales:>6,} {w.shown:>6,} {w.accepted:>8,} {w.rate:>6.1%}  "
             f"{len(w.refused_pairs):,} ({w.refused_shown:,})")
    stopped = result.stopped()
    if len(result.weeks) > 1 and stopped:
        gone = sum(1 for s in stopped if s[2] == 0)
        _out(f"always-refused pairs shown 10+ times in week 1: {len(stopped)}; not shown in "
             f"week {result.weeks[-1].week}: {gone}")
    if folder is not None:
        _out(f"till and possuggest database kept in {folder}")
    return 0


def _simulate_sales(args: argparse.Namespace, ctx: AppContext) -> int:
    """``simulate --sales N``: N simulated sales with a known true uplift, then the report."""
    from possuggest.services.simulate import simulate_sales

    if args.weeks is not None:
        raise PossuggestError("--sales and --weeks are two different simulations: give one")
    if args.no_feedback:
        raise PossuggestError("--no-feedback goes with --weeks, not --sales")
    folder = Path(args.dir) if args.dir else None
    bar = _bar(args.quiet)
    r = simulate_sales(ctx, args.sales, seed=args.seed, folder=folder,
                       sales_per_day=args.sales_per_day, verbose=_verbose(args), progress=bar)
    if bar is not None:
        bar.done()
    report = "possuggest report" if folder is None else f"possuggest --data-dir {folder} report"
    if args.json:
        _out(json.dumps({"sales": r.sales, "holdout_sales": r.holdout_sales,
                         "treated_sales": r.treated_sales, "shown": r.shown,
                         "accepted": r.accepted,
                         "true_uplift_per_1000_sales": round(r.true_uplift_per_1000_sales, 2),
                         "realised_uplift_per_1000_sales":
                             round(r.realised_uplift_per_1000_sales, 2),
                         "from": r.first_day.isoformat(), "to": r.last_day.isoformat(),
                         "seed": r.seed, "rules_db": str(r.rules_db),
                         "till": None if r.till is None else str(r.till),
                         "seconds": round(r.seconds, 2), "report": report}))
        return 0
    _out(f"simulated {r.sales:,} sales ({r.holdout_sales:,} holdout) from {r.first_day} to "
         f"{r.last_day} in {r.seconds:.1f} s: {r.shown:,} cards read out, {r.accepted:,} taken")
    _out(f"true uplift (the customers' model): {r.true_uplift_per_1000_sales:,.2f} per 1,000 "
         f"sales with suggestions (this run's draws: {r.realised_uplift_per_1000_sales:,.2f})")
    _out(f"sales and events logged into {r.rules_db}; see '{report}'")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="possuggest",
        description="Till-side cross-sell and upgrade suggestions mined from the store's own "
                    "sales. With no command, opens the cashier panel.")
    parser.add_argument("--version", action="version", version=f"possuggest {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation and exit (0 = all passed): headless, in "
                             "a temporary folder, a demo store, refresh, suggestions, the "
                             "basket API on 127.0.0.1 and the panel; the store's data is "
                             "never touched")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _global_options(p, suppress=True)
        p.set_defaults(func=func)
        return p

    p = add("demo-db", cmd_demo_db, "write a demo till database (hardware-and-garden store)")
    p.add_argument("path", help="file to write; an existing file is never replaced, except a "
                                "demo store with --force")
    p.add_argument("--sales", type=int, default=DEMO_SALES, help="number of sales (default %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default %(default)s)")
    p.add_argument("--end-date", help="last day of sales, YYYY-MM-DD (default: today)")
    p.add_argument("--force", action="store_true",
                   help="replace PATH when it holds a demo store written by demo-db (never "
                        "anything else, never the configured till)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = add("refresh", cmd_refresh, "mine the till's sales into a new active rule set")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--started-by", choices=("cli", "nightly"), default="cli",
                   help="who the history of runs names (default %(default)s; 'nightly' for an "
                        "operating-system scheduler)")

    p = add("suggest", cmd_suggest, "suggestions for a basket of SKUs")
    p.add_argument("skus", nargs="+", metavar="SKU")
    p.add_argument("-n", type=int, default=None, help="how many (default: policy.max_suggestions)")
    p.add_argument("--json", action="store_true", help="print one JSON array")

    p = add("rules", cmd_rules, "list rules of the active rule set, strongest first")
    p.add_argument("--sku", help="only rules with this SKU on either side")
    p.add_argument("--kind", choices=("cross", "upgrade"))
    p.add_argument("--limit", type=int, default=50, help="at most this many (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    from possuggest.cli.chain import add_chain_parser, add_rules_import  # chains (issue 14)
    add_rules_import(p, lambda p: _global_options(p, suppress=True))

    p = add("rule-sets", cmd_rule_sets, "list kept rule sets (* = active)")
    p.add_argument("--json", action="store_true")

    p = add("rollback", cmd_rollback, "make an earlier rule set active again and pin it "
                                      "(refreshes then do not replace it)")
    p.add_argument("rule_set", nargs="?", type=int, help="rule set id (default: the previous one)")
    p.add_argument("--release", action="store_true",
                   help="undo the pin: the newest rule set becomes active again")

    try:
        from possuggest.cli.evaluate import add_evaluate_parser
        add_evaluate_parser(sub, lambda p: _global_options(p, suppress=True))
    except ImportError:  # pragma: no cover - evaluation module not installed
        pass

    from possuggest.cli.report import add_report_parser  # what suggestions earn (issue 9)
    add_report_parser(sub, lambda p: _global_options(p, suppress=True))

    from possuggest.cli.till import add_till_parsers  # till presets, CSV import (issue 10)
    add_till_parsers(sub, lambda p: _global_options(p, suppress=True))
    add_chain_parser(sub, lambda p: _global_options(p, suppress=True))  # chain mine (issue 14)

    p = add("info", cmd_info, "show where possuggest keeps its files and what it is using")
    p.add_argument("--example-config", action="store_true",
                   help="print every setting with its default, as TOML")

    p = add("simulate", cmd_simulate,
            "simulated weeks at a simulated till whose customers have a known acceptance "
            "model: what learning from the counter does to the cards shown; with --sales, "
            "the demo till run headless into the data folder so that 'possuggest report' "
            "can be checked against the true uplift")
    p.add_argument("--weeks", type=int, default=None, help="simulated weeks (default 4)")
    p.add_argument("--sales", type=int, default=None, metavar="N",
                   help="ring up N simulated sales (same engine, events and holdout as a till)"
                        " into the data folder's demo store and possuggest database, or DIR "
                        "with --dir, and print the true uplift per 1,000 sales")
    p.add_argument("--sales-per-day", type=int, default=200,
                   help="simulated sales a day (default %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default %(default)s)")
    p.add_argument("--no-feedback", action="store_true",
                   help="the same days with learning off (the control)")
    p.add_argument("--dir", metavar="DIR",
                   help="keep the simulated till and possuggest database in DIR (default: a "
                        "temporary folder, removed; with --sales: the data folder's demo "
                        "store); --weeks never writes into the data folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = add("serve", cmd_serve, "run the local basket API headless (127.0.0.1 only)")
    p.add_argument("--port", type=int, default=None, help="port (default: from the config)")

    p = add("gui", cmd_gui, "open the cashier panel (the default)")
    p.add_argument("--demo", action="store_true", help="run the demo store with a till simulator")
    p.add_argument("--exit-after", type=float, default=None, metavar="SECONDS",
                   help="close cleanly after this long (smoke tests)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if debug:                   # --debug: --verbose, tracebacks, and the fault handler
        import faulthandler

        args.verbose = True
        try:
            faulthandler.enable()
        except (AttributeError, OSError, ValueError):   # stderr without a file descriptor
            pass
    if args.self_test:
        from possuggest.cli.selftest import run_self_test

        setup_logging(None, debug)
        return run_self_test(_out, verbose=debug)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "gui"])
        args.verbose = args.verbose or debug
    setup_logging(None, getattr(args, "verbose", False))
    try:
        ctx = AppContext.create(args.data_dir, args.config, args.till_db,
                                strict=args.command != "gui")
        return int(args.func(args, ctx))
    except PossuggestError as exc:
        _err(f"possuggest: error: {exc}")
        if debug:
            import traceback

            traceback.print_exc()
        return exc.exit_code
    except KeyboardInterrupt:
        _err("possuggest: interrupted")
        return 130
    except BrokenPipeError:  # e.g. piped into head
        return 0

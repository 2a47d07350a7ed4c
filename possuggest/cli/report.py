"""``possuggest report``: what suggestions earned over a period (services/report.py), as text,
JSON or a CSV file."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from possuggest.core.errors import PossuggestError
from possuggest.services.context import AppContext

log = logging.getLogger(__name__)


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD day for ``option``, or PossuggestError naming it."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PossuggestError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from None


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file moved into place)."""
    path = Path(path)
    if path.is_dir():
        raise PossuggestError(f"--csv: {path} is a folder, not a file name")
    if not path.parent.is_dir():
        raise PossuggestError(f"--csv: folder does not exist: {path.parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PossuggestError(f"--csv: cannot write in {path.parent}: "
                              f"{exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PossuggestError(f"--csv: cannot write {path}: {exc.strerror or exc}") from None


def _money(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def _signed_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1f}%"


def text_report(rep: Any) -> list[str]:
    """The report as lines for a terminal."""
    j = rep.to_json()
    first = j["period"]["from"] or j["period"]["first_day"] or "the first day logged"
    period = f"{first} to {j['period']['to'] or j['period']['last_day'] or 'the last day logged'}"
    lines = [f"What suggestions earned, {period}"]
    if j["message"]:
        lines.append(f"  {j['message']}")
    share = j["holdout_share"]
    lines += [
        f"  sales                    {j['sales']:>10,}   ({j['holdout_sales']:,} holdout"
        f"{'' if share is None else ' = ' + _pct(share)}, {j['treated_sales']:,} with "
        "suggestions)",
        f"  cards shown              {j['shown']:>10,}   accepted {j['accepted']:,} "
        f"({_pct(j['acceptance_rate'])})",
        f"  attach rate              {_pct(j['attach_rate']):>10}   ({j['sales_with_accepted']:,}"
        f" of the {j['sales_with_cards']:,} sales shown a card took one)",
        f"  basket value             {_money(j['basket_value']['treated']):>10}   with "
        f"suggestions, {_money(j['basket_value']['holdout'])} holdout",
        f"  items per basket         {_money(j['items_per_basket']['treated']):>10}   with "
        f"suggestions, {_money(j['items_per_basket']['holdout'])} holdout",
    ]
    up, pct = j["uplift_per_1000_sales"], j["uplift_pct"]
    if up["estimate"] is not None:
        lo, hi = up["ci95"]
        lines.append(f"  uplift per 1,000 sales   {_money(up['estimate']):>10}   (95% interval "
                     f"{_money(lo)} to {_money(hi)})")
        if pct["estimate"] is not None:
            plo, phi = pct["ci95"]
            lines.append(f"  uplift                   {_signed_pct(pct['estimate']):>10}   "
                         f"(95% interval {_signed_pct(plo)} to {_signed_pct(phi)})")
        needed = j["sales_needed"]
        if needed == 0:
            lines.append("  the interval excludes zero: the uplift is measured")
        elif needed is not None:
            lines.append(f"  about {needed:,} more sales before the interval excludes zero")
        lines.append(f"  method: {j['method']}")
    lines.append(f"  accepted revenue (cards taken x card price): "
                 f"{_money(j['accepted_revenue'])}")
    for title, rows, key in (("by kind", j["by_kind"], "kind"),
                             ("by category", j["by_category"][:8], "category")):
        if rows:
            lines.append(f"{title}:")
            lines += [f"  {str(r[key])[:28]:<28} shown {r['shown']:>8,}  accepted "
                      f"{r['accepted']:>7,} ({_pct(r['acceptance_rate'])})  revenue "
                      f"{_money(r['accepted_revenue'])}" for r in rows]
    if j["by_cashier"]:
        lines.append("by register:")
        lines += [f"  {str(r['register'])[:28]:<28} sales {r['sales']:>8,}  acceptance "
                  f"{_pct(r['acceptance_rate'])}  attach {_pct(r['attach_rate'])}  basket "
                  f"{_money(r['basket_value']['treated'])} / holdout "
                  f"{_money(r['basket_value']['holdout'])}" for r in j["by_cashier"]]
    for which in ("best", "worst"):
        rows = j["by_rule"][which][:5]
        if rows:
            lines.append(f"{which} cards:")
            lines += [f"  {' + '.join(r['with_names']) or '(pinned/manual)'} -> {r['name']}: "
                      f"shown {r['shown']:,}, accepted {r['accepted']:,}, revenue "
                      f"{_money(r['accepted_revenue'])}" for r in rows]
    lines += [f"note: {n}" for n in j["notes"]]
    return lines


def run_report(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.services.report import build_report, report_csv

    date_from = parse_day(args.date_from, "--from")
    date_to = parse_day(args.date_to, "--to")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise PossuggestError(f"--from {date_from} is after --to {date_to}")
    rep = build_report(ctx.paths.rules_db, date_from, date_to)
    if args.csv:
        write_text_file(Path(args.csv), report_csv(rep))
    if args.json:
        _out(json.dumps(rep.to_json(), ensure_ascii=False))
        return 0
    for line in text_report(rep):
        _out(line)
    if args.csv:
        _out(f"CSV written to {args.csv}")
    return 0


def add_report_parser(sub: Any, add_globals: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "report", help="what suggestions earned over a period, against the holdout sales",
        description="Suggestions shown and accepted, acceptance and attach rates, basket value "
                    "with suggestions against holdout sales, and the incremental revenue per "
                    "1,000 sales with its 95%% interval (Welch's t), from possuggest's own "
                    "database. Days are whole days, by the day a sale ended.")
    add_globals(p)
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="first day, YYYY-MM-DD (default: the first day logged)")
    p.add_argument("--to", dest="date_to", metavar="DATE",
                   help="last day, YYYY-MM-DD, included (default: the last day logged)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--csv", metavar="FILE", help="also write the report to FILE as CSV")
    p.set_defaults(func=run_report)


__all__ = ["add_report_parser", "parse_day", "run_report", "text_report", "write_text_file"]

"""The till commands: ``possuggest till presets``, ``possuggest till show-preset NAME`` and
``possuggest import FILE`` (item-level CSV exports of cloud tills)."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from possuggest.core.errors import PossuggestError
from possuggest.services.context import AppContext

GlobalOptions = Callable[[argparse.ArgumentParser], None]


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# -- till presets / show-preset -------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.till.presets import presets

    chosen = ctx.settings.till.preset
    for p in presets().values():
        mark = "*" if p.name == chosen else " "
        open_sale = "open sale read from the database" if p.has_open_sale else \
            "no open sale in the database (basket API)"
        _out(f"{mark} {p.name:<9} {p.title}")
        _out(f"            {', '.join(p.runs_on)}; {open_sale}; times "
             f"{'UTC' if p.times == 'utc' else 'local'}"
             f"{'; :store = ' + p.store if p.store else ''}")
    _out("")
    _out("Use one with [till] preset = \"NAME\"; 'possuggest till show-preset NAME' prints its "
         "queries and notes to adapt.")
    return 0


def _toml_string(text: str) -> str:
    """A TOML multi-line literal string (no escapes), else a basic one."""
    body = text.strip("\n")
    if "'''" not in body:
        return "'''\n" + body + "\n'''"
    import json

    return json.dumps(body)


def preset_toml(name: str, dialect: str | None = None) -> str:
    """One preset as a commented ``[till]`` section to paste and adapt (valid TOML)."""
    from possuggest.till.presets import get_preset

    p = get_preset(name)
    dialect = dialect or p.first_dialect
    q = p.queries(dialect)
    lines = [f"# {p.title}: possuggest preset '{p.name}', SQL for {dialect}",
             f"# (the till runs on {', '.join(p.runs_on)})",
             f"# SKU: {p.sku}",
             f"# :register = {p.register or 'not used'}",
             f"# :store = {p.store or 'no store filter'}",
             *textwrap.wrap(f"left out of mining: {p.excluded}", 96, initial_indent="# ",
                            subsequent_indent="#   "),
             "#"]
    for n in p.notes:
        lines += textwrap.wrap(n, 96, initial_indent="# - ", subsequent_indent="#   ")
    if p.checked:
        lines += ["#", "# table and column names checked against:"]
        for c in p.checked:
            lines += textwrap.wrap(c, 96, initial_indent="#   ", subsequent_indent="#     ")
    lines += ["#",
              f"# As it is: [till] preset = \"{p.name}\". To adapt, keep the preset and change",
              "# a query below: a query in [till.mapping] replaces the preset's.",
              "", "[till]", f'preset = "{p.name}"', "", "[till.mapping]",
              f"sale_lines = {_toml_string(q.sale_lines)}", "",
              f"products = {_toml_string(q.products)}", ""]
    if q.open_sale is None:
        lines.append('open_sale = "none"     # the till keeps no open sale in its database')
    else:
        lines.append(f"open_sale = {_toml_string(q.open_sale)}")
    lines.append("")
    if q.change_token:
        lines += [f"change_token = {_toml_string(q.change_token)}", ""]
    lines.append(f'times = "{p.times}"')
    return "\n".join(lines) + "\n"


def cmd_show_preset(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.till.mapping import dialect_of

    dialect = dialect_of(args.dialect) if args.dialect else None
    sys.stdout.write(preset_toml(args.name, dialect))
    return 0


# -- import -------------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace, ctx: AppContext) -> int:
    from possuggest.till.csv_import import IMPORTED_TILL, import_export, import_folder

    if not args.files and not args.folder:
        raise PossuggestError("give an export file (or --folder DIR)")
    if args.day_first and args.month_first:
        raise PossuggestError("--day-first and --month-first cannot both be given")
    day_first = True if args.day_first else False if args.month_first else None
    database = ctx.paths.data_dir / IMPORTED_TILL
    ctx.paths.ensure()
    results: list[Any] = []
    failed = 0
    for name in args.files:
        if not Path(name).is_file():
            raise PossuggestError(f"export not found: {name}")
    for name in args.files:
        results.append(import_export(name, database, args.format, day_first))
    if args.folder:
        done, bad = import_folder(args.folder, database, args.format, day_first)
        results += done
        for exc in bad:
            _err(f"possuggest: error: {exc}")
        failed = len(bad)
    for r in results:
        _out(r.text())
    if results and not _uses(ctx, database):
        _out(f"To mine these sales, point possuggest at them: [till] path = \"{database}\"")
    return 2 if failed else 0


def _uses(ctx: AppContext, database: Path) -> bool:
    try:
        return not ctx.uses_demo and ctx.till_path.resolve() == database.resolve()
    except OSError:
        return False


def add_till_parsers(sub: Any, global_options: GlobalOptions) -> None:
    """``till`` (presets, show-preset) and ``import`` on the main parser's subcommands."""
    from possuggest.till.csv_import import FORMATS

    till = sub.add_parser("till", help="till presets: list them, print one to adapt",
                          description="Presets for known tills' databases ([till] preset).")
    global_options(till)
    tsub = till.add_subparsers(dest="till_command", metavar="TILL_COMMAND", required=True)
    p = tsub.add_parser("presets", help="list the presets",
                        description="List the till presets ([till] preset = NAME).")
    global_options(p)
    p.set_defaults(func=cmd_presets)
    p = tsub.add_parser("show-preset", help="print one preset as TOML to adapt",
                        description="Print a preset's queries and notes as a [till] section.")
    global_options(p)
    p.add_argument("name", help="the preset (see 'possuggest till presets')")
    p.add_argument("--dialect", help="sqlite, postgresql or mysql (default: the till's own)")
    p.set_defaults(func=cmd_show_preset)

    p = sub.add_parser("import", help="add a cloud till's item-level CSV export to the "
                                      "imported till in the data folder",
                       description="Mirror item-level sales exports (Square 'Items', Shopify "
                                   "orders, Loyverse 'Receipts by item', or a generic CSV) "
                                   "into imported-till.db in possuggest's data folder. The "
                                   "same lines twice are added once.")
    global_options(p)
    p.add_argument("files", nargs="*", metavar="FILE", help="export file(s) (.csv)")
    p.add_argument("--format", choices=FORMATS, help="the export's format (default: told "
                                                     "from its columns)")
    p.add_argument("--folder", metavar="DIR", help="a drop folder: import every .csv in it "
                                                   "(files imported before add nothing)")
    p.add_argument("--day-first", action="store_true",
                   help="dates like 01/02/2026 are 1 February (Loyverse)")
    p.add_argument("--month-first", action="store_true",
                   help="dates like 01/02/2026 are 2 January (Loyverse)")
    p.set_defaults(func=cmd_import)

"""`mutualaid settlements ...`: the medical-insurance settlement extract (免申即享)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from mutualaid.cli import AsOfOpt, DbOpt, ErrorsOpt, _run_import, console, open_db, parse_day

app = typer.Typer(help="Medical-insurance settlement extracts: claims without applying.", no_args_is_help=True)


@app.command("import")
def settlements_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                       user: Annotated[str, typer.Option(help="who imports")] = "cli",
                       as_of: AsOfOpt = None) -> None:
    """Store a settlement extract: claims for members' stays, links, reversals; print counts."""
    from mutualaid.settlements.service import SettlementImport, import_settlements

    day = parse_day(as_of)
    done: list[SettlementImport] = []

    def run(**kw):  # noqa: ANN003, ANN202
        result = import_settlements(open_db(db), as_of=day, **kw)
        done.append(result)
        return result.report

    try:
        _run_import("settlement extract 医保结算数据", run, file, errors, user=user)
    except typer.Exit:
        if done:
            print_counts(done[0].counts)
        raise


def print_counts(counts: dict[str, int]) -> None:
    from mutualaid.i18n import ui
    from mutualaid.settlements.terms import COUNT_ORDER

    t = RichTable(title="what the rows became 结算记录去向")
    t.add_column("")
    t.add_column("rows 行数", justify="right")
    for key in COUNT_ORDER:
        t.add_row(ui(f"count.{key}", "both"), f"{counts.get(key, 0):,}")
    console.print(t)


@app.command("figures")
def settlements_figures(db: DbOpt = None) -> None:
    """How many claims came from settlements, by status, and how many were paid with no application."""
    print_figures(settlement_figures(open_db(db)))


def settlement_figures(database):  # noqa: ANN001, ANN201
    from mutualaid.settlements.service import figures

    with database.sessions() as session:
        return figures(session)


def print_figures(f) -> None:  # noqa: ANN001
    """Claims made from settlements by status, and those paid with no application."""
    from mutualaid.i18n import ui
    from mutualaid.money import fmt

    t = RichTable(title="claims made from settlements 医保结算生成的理赔")
    t.add_column("status 状态")
    t.add_column("claims 件数", justify="right")
    t.add_column("payout 金额", justify="right")
    for status, (n, fen) in sorted(f.claims_by_status.items()):
        t.add_row(f"{ui('status.' + status)} {status}", f"{n:,}", fmt(fen, fen=True))
    console.print(t)
    n, fen = f.paid_without_application
    console.print(f"paid with no application 无需申请即核准: {n:,} claims 件, {fmt(fen, fen=True)} yuan 元")


__all__ = ["app", "print_counts", "print_figures", "settlement_figures"]

"""`mutualaid policy simulate` and `mutualaid report year`: the policy office's commands."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table as RichTable

from mutualaid.cli import DbOpt, _database_failed, console, err, open_db

policy_app = typer.Typer(help="Policy office: try a draft policy on a past year.", no_args_is_help=True)
report_app = typer.Typer(help="Published reports.", no_args_is_help=True)

YearOpt = Annotated[int, typer.Option("--year", help="the year of the claims' event dates, e.g. 2025")]


@policy_app.command("simulate")
def policy_simulate(
        draft: Annotated[Path, typer.Option("--draft", help="the draft policy file (YAML, same form as a policy file)")],
        year: YearOpt,
        out: Annotated[Optional[Path], typer.Option("--out", help="folder for summary.json and report.xlsx")] = None,
        db: DbOpt = None,
        workers: Annotated[Optional[int], typer.Option("--workers", help="processes (default: the CPUs)")] = None,
) -> None:
    """Judge the year's decided claims again under a draft; nothing is stored."""
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.money import fmt
    from mutualaid.policy_office.service import SimulationError, comparison_rows, simulate

    try:
        text = draft.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]{draft}: cannot read the draft / 无法读取草案: {exc}[/red]")
        raise typer.Exit(2) from None
    try:
        result = simulate(open_db(db), year=year, draft_text=text, draft_name=draft.name, out_dir=out, workers=workers)
    except SimulationError as exc:
        from rich.markup import escape
        err.print(f"[red]方案草案有误 / the draft policy is not valid: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except SQLAlchemyError as problem:
        _database_failed(problem, "nothing was stored / 未保存任何数据")
    for product, pc in result.comparison.items():
        t = RichTable(title=f"{product} {year}: actual 实际 vs draft 草案 {draft.name}")
        for col in ("figure 指标", "actual 实际", "draft 草案", "change 变化"):
            t.add_column(col, justify="right" if col != "figure 指标" else "left")
        from mutualaid.i18n import ui
        for key, a, d, ch, money in comparison_rows(pc):
            show = (lambda v: fmt(v, fen=True)) if money else str
            t.add_row(ui(key, "both"), show(a), show(d), show(ch))
        t.add_row(ui("office.members_better", "both"), "", str(pc.better), "")
        t.add_row(ui("office.members_worse", "both"), "", str(pc.worse), "")
        console.print(t)
        changed = ", ".join(f"{c} {ch:+d}" for c, _, _, ch in pc.code_changes())
        if changed:
            console.print(f"codes 规则触发变化: {changed}")
    f = result.summary["fund"]
    console.print(f"fund 基金: closing {year} 年末 {f['closing_balance']}; contributions at draft premiums 草案会费 "
                  f"{f['contributions_at_draft_premiums']}; projected payouts 预计支出 {f['projected_payouts']}; "
                  f"resulting closing 测算余额 {f['resulting_closing_balance']}; years covered 可支付年数 "
                  f"{f['years_of_payouts_covered']}")
    if result.files:
        console.print("files 文件: " + ", ".join(str(p) for p in result.files))
    console.print(f"{sum(pc.actual.claims for pc in result.comparison.values())} claims in {result.seconds:.1f} s; "
                  "nothing stored / 未保存任何数据")


@report_app.command("year")
def report_year(year: YearOpt,
                out: Annotated[Path, typer.Option("--out", help="folder for summary.json and report.xlsx")],
                db: DbOpt = None) -> None:
    """The year report (年度报告): summary.json and report.xlsx."""
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.policy_office.year_report import build_year_report, write_year_report

    try:
        report = build_year_report(open_db(db), year)
    except SQLAlchemyError as problem:
        _database_failed(problem, "no report written / 未生成报告")
    files = write_year_report(report, out)
    o = report["overview"]
    t = RichTable(title=f"{year} 年度报告 / year report")
    t.add_column("figure 指标")
    t.add_column("value 数值", justify="right")
    from mutualaid.i18n import ui
    for key, value in o.items():
        t.add_row(ui(f"year.k.{key}", "both"), str(value))
    console.print(t)
    console.print("files 文件: " + ", ".join(str(p) for p in files))

"""Casework commands: `review return|appeal`, `documents import`, `quality draw|check|report`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table as RichTable

from mutualaid.cli import AsOfOpt, DbOpt, ErrorsOpt, _run_import, console, err, open_db, parse_day, review_app

documents_app = typer.Typer(help="Claim documents (invoices, settlement sheets, …).", no_args_is_help=True)
quality_app = typer.Typer(help="Quality sampling of approvals (事后抽查).", no_args_is_help=True)
NoteOpt = Annotated[str, typer.Option("--note", help="what is wrong / why (required)")]
UserOpt = Annotated[str, typer.Option("--user", help="who does it")]


def _fail(e: Exception) -> None:
    err.print(f"[red]{e}[/red]", highlight=False)
    raise typer.Exit(2) from None


@review_app.command("return")
def review_return(claim_no: str,
                  reason_code: Annotated[str, typer.Option("--reason-code", help="missing_document | amount_mismatch | "
                                                           "wrong_product | name_mismatch | other")],
                  note: NoteOpt, user: UserOpt, as_of: AsOfOpt = None, db: DbOpt = None) -> None:
    """Return a PENDING_REVIEW claim to its unit for correction (退回补正)."""
    from mutualaid.casework.service import CaseworkError, return_claim
    from mutualaid.claims.review import ReviewError
    from mutualaid.money import fmt

    day = parse_day(as_of)
    try:
        with open_db(db).transaction() as session:
            result = return_claim(session, claim_no, reason_code=reason_code, note=note, user=user, as_of=day)
    except (CaseworkError, ReviewError) as e:
        _fail(e)
    console.print(f"{result.claim_no}: RETURNED / 已退回补正")
    for ch in result.readjudicated:
        console.print(f"  re-adjudicated {ch.claim_no}: {ch.before[0]} {fmt(ch.before[1], fen=True)} -> "
                      f"{ch.after[0]} {fmt(ch.after[1], fen=True)}")


@review_app.command("appeal")
def review_appeal(claim_no: str, note: NoteOpt, user: UserOpt, as_of: AsOfOpt = None, db: DbOpt = None) -> None:
    """Appeal a rejection (within the policy's appeal period); another auditor settles it by approve|reject."""
    from mutualaid.casework.service import CaseworkError, appeal_claim

    day = parse_day(as_of)
    try:
        with open_db(db).transaction() as session:
            appeal_claim(session, claim_no, note=note, user=user, as_of=day)
    except CaseworkError as e:
        _fail(e)
    console.print(f"{claim_no}: appeal filed / 已提出申诉")


@documents_app.command("import")
def documents_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                     user: Annotated[str, typer.Option(help="who imports")] = "cli") -> None:
    """Attach the documents of a ZIP whose files are named CLAIMNO_kind.ext (exit 0/1/2)."""
    from mutualaid.casework.documents import import_zip

    _run_import("documents 材料", lambda path, progress, **kw: import_zip(open_db(db), path, **kw), file, errors,
                user=user)


@quality_app.command("draw")
def quality_draw(month: Annotated[str, typer.Option("--month", help="YYYY-MM")], user: UserOpt = "cli",
                 seed: Annotated[Optional[int], typer.Option(help="override the policy's seed")] = None,
                 db: DbOpt = None) -> None:
    """Draw the month's reproducible sample of approvals into the quality queue."""
    from mutualaid.casework.quality import draw
    from mutualaid.casework.service import CaseworkError

    try:
        with open_db(db).transaction() as session:
            d = draw(session, month, user=user, seed=seed)
    except CaseworkError as e:
        _fail(e)
    console.print(f"{d.month}: {d.population} automatic approvals; drawn {d.random} at random + "
                  f"{d.threshold} above the threshold ({d.already} already in the queue)")


@quality_app.command("check")
def quality_check(claim_no: str, verdict: Annotated[str, typer.Option("--verdict", help="agree | disagree")],
                  user: UserOpt, note: Annotated[Optional[str], typer.Option("--note", help="required to disagree")] = None,
                  db: DbOpt = None) -> None:
    """Record an auditor's verdict on a sampled claim."""
    from mutualaid.casework.quality import record_verdict
    from mutualaid.casework.service import CaseworkError

    try:
        with open_db(db).transaction() as session:
            s = record_verdict(session, claim_no, verdict, note=note, user=user)
    except CaseworkError as e:
        _fail(e)
    console.print(f"{claim_no}: {s.verdict}")


@quality_app.command("report")
def quality_report(db: DbOpt = None) -> None:
    """Sampled, checked and disagreed per month, with the disagreement rate."""
    from mutualaid.casework.quality import figures_by_month

    with open_db(db).sessions() as session:
        rows = figures_by_month(session, months=None)
    t = RichTable(title="quality sample 事后抽查")
    for col in ("month 月份", "sampled 抽取", "checked 已检查", "disagreed 不同意", "rate 不同意率"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r.month, str(r.sampled), str(r.checked), str(r.disagreed),
                  "" if r.rate is None else f"{r.rate:.1%}")
    console.print(t)

"""The `mutualaid` console command (cli.md). Commands translate arguments into use-case calls."""
from __future__ import annotations

if __name__ == "__main__":
    # `python -m mutualaid.cli`: the sub-command modules import `mutualaid.cli`, so run that
    # module rather than this `__main__` copy of it (which they would import a second time).
    from mutualaid.__main__ import app as _app  # noqa: F401  (runs the command and exits)

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table as RichTable

from mutualaid.imports import ImportReport, write_errors_csv
from mutualaid.store.db import Database
from mutualaid.tabular import FileProblem

app = typer.Typer(help="Claims processor for trade-union mutual-aid medical protection.",
                  no_args_is_help=True, add_completion=False)
enrollments_app = typer.Typer(help="Enrollment rosters.", no_args_is_help=True)
claims_app = typer.Typer(help="Claim batches.", no_args_is_help=True)
app.add_typer(enrollments_app, name="enrollments")
app.add_typer(claims_app, name="claims")

# Not a terminal (a log file, a pipe): wide enough that tables of amounts are not cut.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DB_HELP = ("database: a SQLAlchemy URL or the path of a SQLite file; before or after the command "
           "(default: $MUTUALAID_DB, else mutualaid.db in the current folder)")
DbOpt = Annotated[Optional[str], typer.Option("--db", help=DB_HELP)]
ErrorsOpt = Annotated[Optional[Path], typer.Option("--errors", help="write the row error report to this CSV")]
MAX_ERROR_LINES = 20


# `mutualaid --db X command …`: the value given before the command, used by every command
# whose own --db is left out. Set by the root callback on each invocation.
_root_db: str | None = None


@app.callback()
def _root(db: DbOpt = None) -> None:
    """Claims processor for trade-union mutual-aid medical protection. 职工医疗互助理赔处理。"""
    global _root_db
    _root_db = db


def db_choice(url: str | None) -> str | None:
    """--db after the command beats --db before it; None leaves it to MUTUALAID_DB / the default."""
    return url or _root_db


def open_db(url: str | None, *, must_exist: bool = False, failure: str | None = None) -> Database:
    """The database of --db (either place) / MUTUALAID_DB / ./mutualaid.db, schema migrated.

    ``must_exist``: for commands that only read (exports, verification, reconciliation), a
    SQLite file that does not exist is an error (exit 2), not a new empty database.
    ``failure``: what to say after the driver's line when the database cannot be opened
    (one line on stderr, exit 2); without it the error goes to the caller's handler.
    """
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.store.db import resolve_url, sqlite_file

    try:
        resolved = resolve_url(db_choice(url))
    except ValueError as e:
        err.print(f"[red]--db: {e}[/red]")
        raise typer.Exit(2) from None
    path = sqlite_file(resolved)
    if must_exist and path is not None and not path.exists():
        err.print(f"[red]数据库不存在：{path}（请检查 --db 或 MUTUALAID_DB）；未创建任何文件 / "
                  f"no database at {path} (check --db or MUTUALAID_DB); nothing was created[/red]",
                  highlight=False)
        raise typer.Exit(2)
    if failure is None:
        return Database(resolved)
    try:
        return Database(resolved)
    except (SQLAlchemyError, CommandError) as problem:
        _database_failed(problem, failure)


def _progress(total: int | None) -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeRemainingColumn(), console=err,
                    transient=True, disable=not total or total < 20_000)


def _run_import(kind_label: str, fn, path: Path, errors: Path | None, **kw) -> None:  # noqa: ANN001
    """Shared shape of the three imports: progress, summary, error report, exit code.

    A database failure (server gone, connection killed, disk full…) rolls the file's one
    transaction back: one line on stderr, exit 2, nothing stored.
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        from mutualaid.tabular import open_table  # noqa: F401  (import errors surface here)

        with _progress(_rows_hint(path)) as progress:
            task = progress.add_task(path.name, total=_rows_hint(path))
            report: ImportReport = fn(path=path, progress=lambda n: progress.advance(task, n), **kw)
    except FileProblem as problem:
        err.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    except SQLAlchemyError as problem:
        from rich.markup import escape

        err.print(f"[red]{escape(path.name)}: {escape(database_problem(problem))}; nothing of the file "
                  f"was stored / 数据库错误，文件未保存任何内容[/red]", highlight=False)
        raise typer.Exit(2) from None
    _print_report(kind_label, report, errors)
    raise typer.Exit(report.exit_code)


def _database_failed(problem: BaseException, consequence: str) -> NoReturn:
    """One line on stderr and exit 2, instead of a traceback (which could show ID numbers)."""
    from rich.markup import escape

    err.print(f"[red]{escape(database_problem(problem))}; {escape(consequence)}[/red]", highlight=False)
    raise typer.Exit(2) from None


def database_problem(exc: BaseException) -> str:
    """'database error: <the driver's first line>' — never the SQL or its parameters (ID numbers)."""
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()
    first = detail[0].strip() if detail else type(exc).__name__
    return f"database error ({type(orig or exc).__name__}): {first}"


def _rows_hint(path: Path) -> int | None:
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return size // 120 if size > 2_000_000 else None


def _print_report(kind_label: str, report: ImportReport, errors_path: Path | None) -> None:
    for w in report.warnings:
        err.print(f"[yellow]{w}[/yellow]")
    if report.identical_to is not None:
        console.print(f"{report.file_name}: 该文件与导入 #{report.identical_to} 完全相同，已逐行重新核对（未变的行不重复保存）/ "
                      f"the same bytes as import #{report.identical_to}: checked again row by row, unchanged rows skipped")
    t = RichTable(title=f"{kind_label} #{report.import_id}: {report.file_name}")
    for col in ("rows 行数", "stored 新增", "unchanged 未变", "error rows 错误行"):
        t.add_column(col, justify="right")
    t.add_row(str(report.rows_total), str(report.stored), str(report.unchanged), str(report.error_rows))
    console.print(t)
    if report.errors:
        for e in report.errors[:MAX_ERROR_LINES]:
            column = report.headers.get(e.column, e.column)
            err.print(f"{report.file_name} 第 {e.row} 行 row {e.row}, {column} = {e.value!r}: {e.message}",
                      highlight=False, markup=False)
        more = len(report.errors) + report.errors_omitted - MAX_ERROR_LINES
        if more > 0:
            err.print(f"… and {more} more errors / 另有 {more} 个错误")
        if errors_path:
            write_errors_csv(report.errors, errors_path, omitted=report.errors_omitted)
            err.print(f"error report written to {errors_path}")


@enrollments_app.command("import")
def enrollments_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                       user: Annotated[str, typer.Option(help="who imports", callback=user_name)] = "cli") -> None:
    """Store an enrollment roster; print counts (stored, unchanged, errors)."""
    from mutualaid.enrollments import import_roster

    _run_import("roster 参保名册", lambda **kw: import_roster(open_db(db), **kw), file, errors, user=user)


@claims_app.command("submit")
def claims_submit(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                  clerk: Annotated[str, typer.Option(help="the submitting clerk", callback=user_name)] = "cli") -> None:
    """Store a claim batch; print the batch id and counts."""
    from mutualaid.claims.intake import submit_batch

    _run_import("claim batch 申请批次", lambda **kw: submit_batch(open_db(db), **kw), file, errors, clerk=clerk)


USER_NAME_MAX = 64  # the width of every *_by / actor column


def user_name(value: str | None) -> str | None:
    """--user / --clerk: a name that fits the database's columns, else exit 2 before any work."""
    if value is not None and (not value.strip() or len(value) > USER_NAME_MAX):
        err.print(f"[red]用户名须为 1 至 {USER_NAME_MAX} 个字符（现为 {len(value)} 个）/ "
                  f"a user name has 1 to {USER_NAME_MAX} characters, this one has {len(value)}[/red]")
        raise typer.Exit(2)
    return value


def parse_day(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]not a date (YYYY-MM-DD): {value}[/red]")
        raise typer.Exit(2) from None


batch_app = typer.Typer(help="Batch jobs.", no_args_is_help=True)
decisions_app = typer.Typer(help="Decisions.", no_args_is_help=True)
review_app = typer.Typer(help="Auditors' decisions.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")
app.add_typer(decisions_app, name="decisions")
app.add_typer(review_app, name="review")
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="decision date YYYY-MM-DD (default: today)")]


WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", help="run on Dask: a local cluster of this many worker processes (docs/scaling.md)")]
SchedulerOpt = Annotated[Optional[str], typer.Option(
    "--scheduler", help="run on the Dask cluster at this scheduler address, tcp://HOST:PORT (docs/scaling.md)")]


def _dask_choice(workers: int | None, scheduler: str | None) -> bool:
    """True when the job should run on Dask; exit 2 on a contradictory or impossible choice."""
    if workers is not None and scheduler:
        err.print("[red]--workers and --scheduler exclude each other[/red]")
        raise typer.Exit(2)
    if workers is not None and workers < 1:
        err.print(f"[red]--workers must be at least 1, got {workers}[/red]")
        raise typer.Exit(2)
    return workers is not None or bool(scheduler)


def _dask_db_url(db: str | None) -> str:
    """The database URL as Dask workers will open it; exit 2 if they cannot share it."""
    from batch.distributed import shareable_url

    try:
        return shareable_url(db_choice(db))
    except ValueError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@batch_app.command("run")
def batch_run(as_of: AsOfOpt = None, db: DbOpt = None, workers: WorkersOpt = None,
              scheduler: SchedulerOpt = None) -> None:
    """Adjudicate every claim not yet decided; print counts by status and total payout."""
    from mutualaid.store.locks import JobBusy
    from sqlalchemy.exc import SQLAlchemyError

    day = parse_day(as_of)
    url = _dask_db_url(db) if _dask_choice(workers, scheduler) else None
    with Progress(TextColumn("adjudicating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("chunks", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if url is not None:
                from batch.distributed import run_distributed

                tally = run_distributed(url, as_of=day, workers=workers, scheduler=scheduler, progress=tick)
            else:
                from batch.adjudicate import run

                tally = run(open_db(db), as_of=day, progress=tick)
        except JobBusy as busy:
            err.print(f"[red]{busy} / 另一个批处理正在运行[/red]")
            raise typer.Exit(2) from None
        except SQLAlchemyError as problem:
            _database_failed(problem, "chunks committed before the failure stay decided; run again to decide "
                                      "the rest / 已提交的部分保留，重新运行可继续")
    from mutualaid.i18n import ui
    from mutualaid.money import grouped

    t = RichTable(title=f"批量审核 batch run, decided on {day}")
    t.add_column("状态 status")
    t.add_column("件数 claims", justify="right")
    t.add_column("金额 amount (元)", justify="right")
    from mutualaid.claims.status import APPROVED, DECIDED, PENDING_REVIEW, REJECTED

    amounts = {APPROVED: grouped(tally.approved_fen), PENDING_REVIEW: grouped(tally.pending_fen), REJECTED: ""}
    for status in DECIDED:
        t.add_row(f"{ui('status.' + status)} {status}", f"{tally.by_status.get(status, 0):,}", amounts[status])
    t.add_row("合计 total decided", f"{tally.decided:,}", "")
    console.print(t)
    console.print(f"核准金额合计 approved payout: {grouped(tally.approved_fen)}")
    console.print(f"待人工审核金额 pending review (not yet granted): {grouped(tally.pending_fen)}")
    if tally.waiting:
        console.print(f"{tally.waiting:,} 件申请的申请日期晚于 {day}，留待以后的批次审核 / claims submitted after "
                      f"{day} wait for a later run")
    _print_chain_head(open_db(db))


def _print_chain_head(database: Database, head: object = None) -> None:
    """The audit chain's head after a batch job: keep it to check later that nothing was cut."""
    from mutualaid import audit

    if head is None:
        with database.sessions() as session:
            head = audit.head(session)
    console.print(f"audit chain 审计链: {head.entries} entries, head {head.hash}")  # type: ignore[attr-defined]


@decisions_app.command("export")
def decisions_export(out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
                     batch: Annotated[Optional[int], typer.Option("--batch", help="only this claim batch")] = None,
                     db: DbOpt = None) -> None:
    """Write the decision export (ID numbers masked)."""
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.claims.service import export_decisions  # the web's download: the same function

    check_out_file(out)
    database = open_db(db, must_exist=True, failure=f"{out} was not written / 未写出文件")
    tmp = out.with_name(f".{out.name}.part")
    try:
        n = export_decisions(database, tmp, batch_id=batch)
        tmp.replace(out)
    except SQLAlchemyError as problem:
        tmp.unlink(missing_ok=True)
        _database_failed(problem, f"{out} was not written / 未写出文件")
    except OSError as e:
        tmp.unlink(missing_ok=True)
        _cannot_write(out, e)
    console.print(f"已导出 {n:,} 条理赔决定到 {out} / {n:,} decisions written to {out}")


def _cannot_write(path: Path, problem: OSError) -> NoReturn:
    from rich.markup import escape

    reason = problem.strerror or type(problem).__name__
    err.print(f"[red]无法写入 {escape(str(path))}：{escape(reason)} / cannot write {escape(str(path))}: "
              f"{escape(reason)}[/red]", highlight=False)
    raise typer.Exit(2) from None


def check_out_file(path: Path) -> None:
    """Exit 2 before any work when the file to write cannot be created (missing folder, no rights)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        _cannot_write(path, IsADirectoryError(21, "this is a folder, give a file name / 这是文件夹，请给出文件名"))
    if not folder.is_dir():
        _cannot_write(path, FileNotFoundError(2, f"folder {folder} does not exist / 文件夹 {folder} 不存在"))
    _probe_write(folder, path)


def check_out_dir(folder: Path) -> None:
    """Exit 2 before any work when the report folder cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _cannot_write(folder, e)
    _probe_write(folder, folder)


def _probe_write(folder: Path, shown: Path) -> None:
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        _cannot_write(shown, e)


def _review(action: str, claim_no: str, reason: str, user: str, as_of: str | None, amount: str | None,
            db: str | None) -> None:
    from mutualaid.casework.service import CaseworkError
    from mutualaid.claims.review import ReviewError
    from mutualaid.claims.service import ScopeError, review_claim  # the web's review: the same rules
    from mutualaid.money import MoneyError, fmt, grouped, parse_amount, to_fen

    day = parse_day(as_of)
    try:
        payout = to_fen(parse_amount(amount)) if amount is not None else None
    except MoneyError:
        err.print(f"[red]not an amount: {amount}[/red]")
        raise typer.Exit(2) from None
    database = open_db(db)
    try:
        # the CLI has no signed-in user: no unit scope (claims.service); four eyes by --user
        result = review_claim(database, user=user, action=action, reason=reason, as_of=day, claim_no=claim_no,
                              payout_fen=payout)
    except (ReviewError, CaseworkError, ScopeError) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    if result.replaced_review:
        by, status, paid = result.replaced_review
        console.print(f"注意：该申请已由 {by} 审核（{status} {grouped(paid)}），本次决定取代之 / note: this "
                      f"replaces the earlier review by {by} ({status} {grouped(paid)})")
    if result.overridden_codes:
        console.print(f"改判：不予适用规则 {', '.join(result.overridden_codes)} / overrides "
                      f"{', '.join(result.overridden_codes)}")
    if result.limited_to:
        console.print(f"金额已限于 {grouped(result.limited_to.fen)}（{result.limited_to.why_zh}）/ amount "
                      f"limited to {grouped(result.limited_to.fen)} ({result.limited_to.why_en})")
    console.print(f"{result.claim_no}: {result.status}, payout {grouped(result.payout_fen)}")
    for ch in result.readjudicated:
        console.print(f"  re-adjudicated {ch.claim_no}: {ch.before[0]} {fmt(ch.before[1], fen=True)} -> "
                      f"{ch.after[0]} {fmt(ch.after[1], fen=True)}")


ReasonOpt = Annotated[str, typer.Option("--reason", help="why (required)")]
UserOpt = Annotated[str, typer.Option("--user", help="the auditor", callback=user_name)]
AmountOpt = Annotated[Optional[str], typer.Option("--amount", help="override the payout (approve only)")]


@review_app.command("approve")
def review_approve(claim_no: str, reason: ReasonOpt, user: UserOpt, as_of: AsOfOpt = None,
                   amount: AmountOpt = None, db: DbOpt = None) -> None:
    """Approve a PENDING_REVIEW claim, or override an automatic decision."""
    _review("approve", claim_no, reason, user, as_of, amount, db)


@review_app.command("reject")
def review_reject(claim_no: str, reason: ReasonOpt, user: UserOpt, as_of: AsOfOpt = None,
                  db: DbOpt = None) -> None:
    """Reject a claim (reason required)."""
    _review("reject", claim_no, reason, user, as_of, None, db)


ledger_app = typer.Typer(help="Fund ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("import")
def ledger_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                  user: Annotated[str, typer.Option(help="who imports", callback=user_name)] = "cli") -> None:
    """Store fund-ledger lines (append-only, idempotent by voucher_no)."""
    from mutualaid.ledger.importer import import_ledger

    _run_import("fund ledger 基金台账", lambda **kw: import_ledger(open_db(db), **kw), file, errors, user=user)


reconcile_app = typer.Typer(help="Monthly reconciliation of payouts with the fund ledger.",
                            invoke_without_command=True)
app.add_typer(reconcile_app, name="reconcile")


@reconcile_app.callback()
def reconcile_month(ctx: typer.Context,
                    month: Annotated[Optional[str], typer.Option("--month", help="YYYY-MM")] = None,
                    out: Annotated[Optional[Path], typer.Option("--out", help="folder for the report files")] = None,
                    db: DbOpt = None, user: Annotated[str, typer.Option(help="who runs it", callback=user_name)] = "cli",
                    workers: WorkersOpt = None, scheduler: SchedulerOpt = None) -> None:
    """Write items.csv, summary.json and report.xlsx for one month."""
    if ctx.invoked_subcommand is not None:
        return
    if not month or not out:
        err.print("[red]--month YYYY-MM and --out DIR are required[/red]")
        raise typer.Exit(2)
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.ledger.service import ReconcileError, run
    from mutualaid.store.locks import JobBusy

    check_out_dir(out)
    url = _dask_db_url(db) if _dask_choice(workers, scheduler) else None
    try:
        database = open_db(db, must_exist=True)
        if url is not None:
            from batch.distributed import reconcile_distributed

            database.dispose()
            result = reconcile_distributed(url, month, out, workers=workers, scheduler=scheduler, user=user)
        else:
            result = run(database, month, out, user=user)
    except (ReconcileError, JobBusy) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    except SQLAlchemyError as problem:
        _database_failed(problem, "this run was not recorded; run it again / 本次对账未保存，请重新运行")
    except OSError as e:
        err.print(f"[red]the run was stored but its files could not be written; run it again with another --out "
                  f"/ 对账已保存，但报告文件未能写出，请换一个 --out 重新运行[/red]")
        _cannot_write(out, e)
    _print_reconciliation(result.reconciliation.summary)
    if not _has_items(result.reconciliation.summary):
        console.print(f"提示：{month} 没有任何理赔决定或基金台账记录。对账只看决定日期在 {month} 月底之前的理赔"
                      f"（决定日期即 batch run 的 --as-of，默认今天）；请先用 batch run --as-of 该月月底 处理理赔，"
                      f"并导入基金台账。\n"
                      f"hint: nothing was decided by the end of {month} and no ledger lines fall in it; decisions are "
                      f"dated by `batch run --as-of` (default: today), so decide the month's claims with "
                      f"--as-of its last day and import the ledger first.", highlight=False)
    console.print(f"run #{result.run_id}; files: " + ", ".join(str(p) for p in result.files))
    if result.audit_head is not None:
        _print_chain_head(None, result.audit_head)  # type: ignore[arg-type]


def _has_items(summary: dict) -> bool:
    by_status = summary.get("by_status") or {}
    roll = summary.get("roll_forward") or {}
    moved = any(str(roll.get(k, "0")).strip("0.,-") for k in ("total_inflows", "total_outflows"))
    return moved or any(int((f or {}).get("count") or 0) for f in by_status.values())


def _print_reconciliation(summary: dict) -> None:
    from mutualaid.demo_report import count, yuan
    from mutualaid.i18n import ui

    t = RichTable(title=f"对账 reconciliation {summary.get('month')}")
    t.add_column("状态 status")
    t.add_column("项 items", justify="right")
    t.add_column("差额 difference", justify="right")
    for status, figures in (summary.get("by_status") or {}).items():
        t.add_row(f"{ui(f'recon.{status}', 'zh')} {status}", count(figures.get("count")), yuan(figures.get("difference")))
    console.print(t)
    roll = summary.get("roll_forward") or {}
    if roll:
        console.print(f"基金 fund: 期初 opening {yuan(roll.get('opening'))}  流入 in {yuan(roll.get('total_inflows'))}  "
                      f"流出 out {yuan(roll.get('total_outflows'))}  期末 closing {yuan(roll.get('closing'))}",
                      highlight=False)


@reconcile_app.command("resolve")
def reconcile_resolve(month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
                      item: Annotated[str, typer.Option("--item", help="claim_no, or voucher_no of an unknown claim")],
                      note: Annotated[str, typer.Option("--note", help="what was done")],
                      user: UserOpt, db: DbOpt = None) -> None:
    """Mark a reconciliation item resolved; the note survives re-runs."""
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid.ledger.service import ReconcileError, resolve

    try:
        resolve(open_db(db, must_exist=True), month, item, note, user=user)
    except ReconcileError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    except SQLAlchemyError as problem:
        _database_failed(problem, "nothing was stored / 未保存")
    console.print(f"{month} {item}: resolved")


audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(db: DbOpt = None,
                 against: Annotated[Optional[Path], typer.Option(
                     "--against", help="a reconciliation's summary.json: the chain must still hold its head")] = None,
                 ) -> None:
    """Check the audit log's keyed hash chain: an edited, deleted or forged entry is detected;
    with --against, also a chain cut short or rewritten since that report was written."""
    from sqlalchemy.exc import SQLAlchemyError

    from mutualaid import audit

    anchor = None
    if against is not None:
        try:
            anchor = audit.ChainHead.of(json.loads(against.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            err.print(f"[red]{against}: no audit chain head to check against ({e}) / 文件中没有审计链末端信息[/red]")
            raise typer.Exit(2) from None
    try:
        database = open_db(db, must_exist=True)
        with database.sessions() as session:
            result = audit.verify(session, against=anchor)
    except SQLAlchemyError as problem:
        _database_failed(problem, "the audit log was not checked / 未能检查审计日志")
    if result.ok:
        console.print(f"audit log intact: {result.entries} entries / 审计日志完整")
        if result.unkeyed:
            console.print(f"  of which the first {result.unkeyed} from before keying (plain SHA-256) / "
                          f"前 {result.unkeyed} 条为启用密钥前的记录")
        if anchor is not None:
            console.print(f"  still holds the head of {against}: {anchor} / 与对账报告记录的审计链末端一致")
        return
    if result.key_missing:
        err.print("[red]audit key not found: set MUTUALAID_AUDIT_KEY or MUTUALAID_AUDIT_KEY_FILE "
                  "(docs/reliability.md) / 找不到审计密钥[/red]")
    elif result.broken_at is not None:
        err.print(f"[red]audit log broken at entry #{result.broken_at} / 审计日志在第 {result.broken_at} 条被改动[/red]")
    elif result.anchor_problem == "cut":
        err.print(f"[red]audit log cut short: {result.entries} entries, {against} recorded {anchor.entries} "  # type: ignore[union-attr]
                  f"/ 审计日志被截短[/red]")
    else:
        err.print(f"[red]audit log rewritten: entry {anchor.entries} is not the head {against} recorded "  # type: ignore[union-attr]
                  f"/ 审计日志被改写[/red]")
    raise typer.Exit(1)


# --- web server and users (api/) ------------------------------------------------------------

users_app = typer.Typer(help="User accounts for the web pages and the API.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create-admin")
def users_create_admin(
    username: Annotated[str, typer.Option("--username", help="the administrator's user name")],
    password: Annotated[Optional[str], typer.Option("--password", help="initial password (prompted when left out)")] = None,
    db: DbOpt = None,
) -> None:
    """Create an administrator (the first user; admins create the others on the Users page)."""
    from mutualaid.users import UserError, create_user
    from mutualaid.i18n import ui

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with open_db(db, failure="no user was created / 未创建用户").transaction() as session:
            create_user(session, username=username, password=password, role="admin", actor="cli")
    except UserError as e:
        err.print(f"[red]{ui(e.code, 'both', **e.params)}[/red]")
        raise typer.Exit(2) from None
    console.print(f"administrator {username} created / 已创建管理员 {username}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    secure_cookies: Annotated[Optional[bool], typer.Option(
        "--secure-cookies/--insecure-cookies",
        help="mark cookies Secure (HTTPS only); default: on unless listening on 127.0.0.1/localhost")] = None,
    reports_dir: Annotated[Optional[Path], typer.Option(help="where reconciliation report files are kept")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Serve the web pages and the JSON API (/api/v1, schema at /api/v1/openapi.json)."""
    import os

    from api.server import run

    check_port(host, port)
    database = open_db(db, failure="the web pages were not started / 网页服务未启动")  # migrates once, before any worker
    os.environ["MUTUALAID_DB"] = database.url
    if secure_cookies is None:
        secure_cookies = host not in ("127.0.0.1", "localhost", "::1")
    os.environ["MUTUALAID_SECURE_COOKIES"] = "1" if secure_cookies else "0"
    if reports_dir is not None:
        os.environ["MUTUALAID_REPORTS_DIR"] = str(reports_dir.resolve())
    database.dispose()
    if not quiet:
        console.print(f"网页服务：http://{host}:{port}/ （按 Ctrl+C 停止）/ serving on http://{host}:{port}/ "
                      f"(Ctrl+C stops; cookies {'HTTPS only' if secure_cookies else 'also over plain HTTP'})",
                      highlight=False)
    run(host=host, port=port, workers=workers)


def check_port(host: str, port: int) -> None:
    """Exit 2 at once when the server could not listen there (port taken, address not ours)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
            probe.bind(address)
    except (OSError, OverflowError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        err.print(f"[red]无法在 {host}:{port} 上提供网页（{reason}）。端口可能已被占用，请用 --port 换一个端口，例如 --port 8001 / "
                  f"cannot serve on {host}:{port} ({reason}); the port is probably in use, choose another with "
                  f"--port, e.g. --port 8001[/red]", highlight=False)
        raise typer.Exit(2) from None


@app.command("generate")
def generate_cmd(out: Annotated[Path, typer.Option("--out", help="folder for the generated files")],
                 scale: Annotated[str, typer.Option(help="tongliao | region | a number of HOSP members")] = "tongliao",
                 seed: Annotated[int, typer.Option(help="random seed")] = 2025,
                 settlements: Annotated[bool, typer.Option(
                     "--settlements", help="also the medical-insurance settlement extract (docs/settlements.md)")] = False
                 ) -> None:
    """Write realistic rosters, monthly claim batches and a fund ledger (files.md formats)."""
    from mutualaid.generate import generate

    data = generate(int(scale) if scale.isdigit() else scale, seed, out, settlements=settlements)
    _print_figures(data.figures)
    console.print(f"文件在 {out}：{len(data.rosters)} 个参保名册、{len(data.claim_batches)} 个月的理赔申请、基金台账 / "
                  f"files in {out}: {len(data.rosters)} rosters, {len(data.claim_batches)} claim batches, ledger",
                  highlight=False)


FIGURE_LABELS = {
    "hosp_members": "参加住院医疗互助的职工（人）", "women_members": "参加女性安康互助的女职工（人）",
    "claims_paid": "按规则估计获得补助的理赔（件）", "payout_yuan": "按规则估计的补助金额（元）",
    "units": "单位（个）", "claims": "理赔申请（件）", "claims_hosp": "其中住院医疗互助（件）",
    "claims_women": "其中女性安康互助（件）", "ledger_lines": "基金台账记录（条）",
}


def _print_figures(figures: dict) -> None:
    from mutualaid.demo import REFERENCE
    from mutualaid.demo_report import count, yuan

    t = RichTable(title="生成的数据与参考年度（通辽市 2025 年）对比 / generated vs. reference")
    t.add_column("指标 figure")
    t.add_column("生成 generated", justify="right")
    t.add_column("参考 reference", justify="right")

    def shown(key: str, value: object) -> str:
        if value is None or value == "":
            return ""
        return yuan(value) if key == "payout_yuan" else count(value) if isinstance(value, int) else str(value)

    for key, ref in REFERENCE.items():
        t.add_row(FIGURE_LABELS.get(key, key), shown(key, figures.get(key)), shown(key, ref))
    for key in ("units", "claims", "claims_hosp", "claims_women", "ledger_lines"):
        if key in figures:
            t.add_row(FIGURE_LABELS[key], shown(key, figures[key]), "")
    console.print(t)


@app.command("demo")
def demo_cmd(out: Annotated[Path, typer.Option("--out", help="demo folder (deleted and recreated)")] = Path("demo"),
             scale: Annotated[str, typer.Option(help="tongliao | region | a number of HOSP members")] = "tongliao",
             seed: Annotated[int, typer.Option(help="random seed")] = 2025,
             serve: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the web UI afterwards")] = True,
             host: Annotated[str, typer.Option(help="address to serve on")] = "127.0.0.1",
             port: Annotated[int, typer.Option(help="port to serve on")] = 8000) -> None:
    """Generate a realistic year, run the whole month cycle, print the year, serve the web UI."""
    import time

    from mutualaid.demo import REFERENCE, run_demo, year_summary
    from mutualaid.demo_report import print_year

    if serve:
        check_port(host, port)  # before a minute of data work, not after
    console.print(f"演示开始：约需 1–2 分钟生成并处理一年的数据，然后在 http://{host}:{port}/ 提供网页。", highlight=False)
    started = time.monotonic()
    with _DemoProgress() as tick:
        result = run_demo(out, scale=int(scale) if scale.isdigit() else scale, seed=seed,
                          say=lambda m: err.print(m, highlight=False), progress=tick)
    database = open_db(result.db_url, failure="the demo stopped / 演示已停止")
    year = year_summary(database)
    from mutualaid.cli_settlements import settlement_figures
    from mutualaid.demo_report import print_settlements

    settled = settlement_figures(database)
    database.dispose()
    print_year(console, figures=result.figures, year=year, recon=result.recon, reviews=result.reviews,
               reference=REFERENCE, months=result.months, seconds=time.monotonic() - started,
               db_path=str(result.out_dir / "demo.db"), out_dir=str(result.out_dir), payments=result.payments)
    print_settlements(console, settled)  # the claims paid with no application (免申即享)
    if serve:
        _serve_demo(result.db_url, host, port, result.out_dir / "reconciliation")


class _DemoProgress:
    """A bar on a terminal; elsewhere (a log file, a pipe) one line per step with the elapsed time."""

    def __enter__(self):  # noqa: ANN204
        import time

        self.started = time.monotonic()
        self.live = err.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=err, transient=True, disable=not self.live)
        self.progress.__enter__()
        self.task = self.progress.add_task("演示", total=None)
        return self.tick

    def tick(self, label: str, done: int, total: int) -> None:
        import time

        self.progress.update(self.task, description=label, completed=done, total=total or None)
        if not self.live:
            step = f"[{done:>2}/{total}] " if total else ""
            err.print(f"{time.monotonic() - self.started:5.0f} 秒  {step}{label}", highlight=False)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.progress.__exit__(*exc)


def _serve_demo(db_url: str, host: str, port: int, reports: Path) -> None:
    import os

    from mutualaid.demo import create_demo_users
    from mutualaid.demo_report import print_logins

    database = open_db(db_url, failure="the demo stopped / 演示已停止")
    users = create_demo_users(database)
    database.dispose()
    logins = reports.parent / "logins.txt"
    try:
        fd = os.open(logins, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"http://{host}:{port}/\n" + "".join(f"{role}\t{name}\t{pw}\n" for role, name, pw in users))
        logins_file: str | None = str(logins)
    except OSError:
        logins_file = None
    print_logins(console, host=host, port=port, users=users, logins_file=logins_file)
    serve(host=host, port=port, secure_cookies=None, reports_dir=reports, workers=1, db=db_url, quiet=True)


from mutualaid.cli_payments import payments_app  # noqa: E402
app.add_typer(payments_app, name="payments")
from mutualaid import cli_casework  # noqa: E402  (review return/appeal, documents, quality)
app.add_typer(cli_casework.documents_app, name="documents"); app.add_typer(cli_casework.quality_app, name="quality")  # noqa: E702
from mutualaid.cli_settlements import app as _settlements_app; app.add_typer(_settlements_app, name="settlements")  # noqa: E402,E702
from mutualaid.cli_policy_office import policy_app, report_app; app.add_typer(policy_app, name="policy"); app.add_typer(report_app, name="report")  # noqa: E402,E702,I001

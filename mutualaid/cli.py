"""The `mutualaid` console command (cli.md). Commands translate arguments into use-case calls."""
from __future__ import annotations

import datetime as dt
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

DbOpt = Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL (default: $MUTUALAID_DB, else sqlite:///mutualaid.db)")]
ErrorsOpt = Annotated[Optional[Path], typer.Option("--errors", help="write the row error report to this CSV")]
MAX_ERROR_LINES = 20


def open_db(url: str | None) -> Database:
    return Database(url)


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
        console.print(f"{report.file_name}: 该文件已于导入 #{report.identical_to} 中导入，未重复处理 / "
                      f"this exact file was already imported as #{report.identical_to}; nothing changed")
        return
    t = RichTable(title=f"{kind_label} #{report.import_id}: {report.file_name}")
    for col in ("rows 行数", "stored 新增", "unchanged 未变", "error rows 错误行"):
        t.add_column(col, justify="right")
    t.add_row(str(report.rows_total), str(report.stored), str(report.unchanged), str(report.error_rows))
    console.print(t)
    if report.errors:
        for e in report.errors[:MAX_ERROR_LINES]:
            err.print(f"{report.file_name} row {e.row}, {e.column} = {e.value!r}: {e.message}")
        if len(report.errors) > MAX_ERROR_LINES:
            err.print(f"… and {len(report.errors) - MAX_ERROR_LINES} more errors / 另有 {len(report.errors) - MAX_ERROR_LINES} 个错误")
        if errors_path:
            write_errors_csv(report.errors, errors_path)
            err.print(f"error report written to {errors_path}")


@enrollments_app.command("import")
def enrollments_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                       user: Annotated[str, typer.Option(help="who imports")] = "cli") -> None:
    """Store an enrollment roster; print counts (stored, unchanged, errors)."""
    from mutualaid.enrollments import import_roster

    _run_import("roster 参保名册", lambda **kw: import_roster(open_db(db), **kw), file, errors, user=user)


@claims_app.command("submit")
def claims_submit(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                  clerk: Annotated[str, typer.Option(help="the submitting clerk")] = "cli") -> None:
    """Store a claim batch; print the batch id and counts."""
    from mutualaid.claims.intake import submit_batch

    _run_import("claim batch 申请批次", lambda **kw: submit_batch(open_db(db), **kw), file, errors, clerk=clerk)


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
        return shareable_url(db)
    except ValueError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


@batch_app.command("run")
def batch_run(as_of: AsOfOpt = None, db: DbOpt = None, workers: WorkersOpt = None,
              scheduler: SchedulerOpt = None) -> None:
    """Adjudicate every claim not yet decided; print counts by status and total payout."""
    from mutualaid.money import fmt
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
    t = RichTable(title=f"batch run, decided on {day}")
    t.add_column("status 状态")
    t.add_column("claims 件数", justify="right")
    for status in ("APPROVED", "PENDING_REVIEW", "REJECTED"):
        t.add_row(status, str(tally.by_status.get(status, 0)))
    t.add_row("total 合计", str(tally.decided))
    console.print(t)
    console.print(f"total payout 核准金额合计: {fmt(tally.payout_fen, fen=True)}")


@decisions_app.command("export")
def decisions_export(out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
                     batch: Annotated[Optional[int], typer.Option("--batch", help="only this claim batch")] = None,
                     db: DbOpt = None) -> None:
    """Write the decision export (ID numbers masked)."""
    from mutualaid.claims.export import export_decisions

    database = open_db(db)
    with database.sessions() as session:
        n = export_decisions(session, out, batch_id=batch)
    console.print(f"{n} decisions written to {out}")


def _review(action: str, claim_no: str, reason: str, user: str, as_of: str | None, amount: str | None,
            db: str | None) -> None:
    from mutualaid.claims.review import ReviewError, review
    from mutualaid.money import MoneyError, fmt, parse_amount, to_fen

    day = parse_day(as_of)
    try:
        payout = to_fen(parse_amount(amount)) if amount is not None else None
    except MoneyError:
        err.print(f"[red]not an amount: {amount}[/red]")
        raise typer.Exit(2) from None
    database = open_db(db)
    try:
        with database.transaction() as session:
            result = review(session, claim_no, action, reason=reason, user=user, as_of=day, payout_fen=payout)
    except ReviewError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{result.claim_no}: {result.status}, payout {fmt(result.payout_fen, fen=True)}")
    for ch in result.readjudicated:
        console.print(f"  re-adjudicated {ch.claim_no}: {ch.before[0]} {fmt(ch.before[1], fen=True)} -> "
                      f"{ch.after[0]} {fmt(ch.after[1], fen=True)}")


ReasonOpt = Annotated[str, typer.Option("--reason", help="why (required)")]
UserOpt = Annotated[str, typer.Option("--user", help="the auditor")]
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
                  user: Annotated[str, typer.Option(help="who imports")] = "cli") -> None:
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
                    db: DbOpt = None, user: Annotated[str, typer.Option(help="who runs it")] = "cli",
                    workers: WorkersOpt = None, scheduler: SchedulerOpt = None) -> None:
    """Write items.csv, summary.json and report.xlsx for one month."""
    if ctx.invoked_subcommand is not None:
        return
    if not month or not out:
        err.print("[red]--month YYYY-MM and --out DIR are required[/red]")
        raise typer.Exit(2)
    from sqlalchemy.exc import SQLAlchemyError

    from batch.reconcile import ReconcileError, run
    from mutualaid.store.locks import JobBusy

    url = _dask_db_url(db) if _dask_choice(workers, scheduler) else None
    try:
        if url is not None:
            from batch.distributed import reconcile_distributed

            result = reconcile_distributed(url, month, out, workers=workers, scheduler=scheduler, user=user)
        else:
            result = run(open_db(db), month, out, user=user)
    except (ReconcileError, JobBusy) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    except SQLAlchemyError as problem:
        _database_failed(problem, "this run was not recorded; run it again / 本次对账未保存，请重新运行")
    _print_reconciliation(result.reconciliation.summary)
    console.print(f"run #{result.run_id}; files: " + ", ".join(str(p) for p in result.files))


def _print_reconciliation(summary: dict) -> None:
    t = RichTable(title=f"reconciliation 对账 {summary.get('month')}")
    t.add_column("status 状态")
    t.add_column("items 项", justify="right")
    t.add_column("difference 差额", justify="right")
    for status, figures in (summary.get("by_status") or {}).items():
        t.add_row(status, str(figures.get("count", "")), str(figures.get("difference", "")))
    console.print(t)
    roll = summary.get("roll_forward") or {}
    if roll:
        console.print(f"fund 基金: opening 期初 {roll.get('opening')}  closing 期末 {roll.get('closing')}")


@reconcile_app.command("resolve")
def reconcile_resolve(month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
                      item: Annotated[str, typer.Option("--item", help="claim_no, or voucher_no of an unknown claim")],
                      note: Annotated[str, typer.Option("--note", help="what was done")],
                      user: UserOpt, db: DbOpt = None) -> None:
    """Mark a reconciliation item resolved; the note survives re-runs."""
    from batch.reconcile import ReconcileError, resolve

    try:
        resolve(open_db(db), month, item, note, user=user)
    except ReconcileError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{month} {item}: resolved")


audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(db: DbOpt = None) -> None:
    """Check the audit log's hash chain: an edited or deleted entry is detected."""
    from mutualaid import audit

    with open_db(db).sessions() as session:
        result = audit.verify(session)
    if result.ok:
        console.print(f"audit log intact: {result.entries} entries / 审计日志完整")
        return
    err.print(f"[red]audit log broken at entry #{result.broken_at} / 审计日志在第 {result.broken_at} 条被改动[/red]")
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
        with open_db(db).transaction() as session:
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
) -> None:
    """Serve the web pages and the JSON API (/api/v1, schema at /api/v1/openapi.json)."""
    import os

    from api.server import run

    database = open_db(db)  # migrates the schema once, before any worker starts
    os.environ["MUTUALAID_DB"] = database.url
    if secure_cookies is None:
        secure_cookies = host not in ("127.0.0.1", "localhost", "::1")
    os.environ["MUTUALAID_SECURE_COOKIES"] = "1" if secure_cookies else "0"
    if reports_dir is not None:
        os.environ["MUTUALAID_REPORTS_DIR"] = str(reports_dir.resolve())
    database.dispose()
    console.print(f"serving on http://{host}:{port}/ (cookies {'Secure' if secure_cookies else 'not Secure'})")
    run(host=host, port=port, workers=workers)


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
    console.print(f"files in {out}: {len(data.rosters)} rosters, {len(data.claim_batches)} claim batches, ledger")


def _print_figures(figures: dict) -> None:
    from mutualaid.demo import REFERENCE

    t = RichTable(title="generated vs. reference (Tongliao 2025) 生成数据与参考数据")
    t.add_column("figure 指标")
    t.add_column("generated 生成", justify="right")
    t.add_column("reference 参考", justify="right")
    for key, ref in REFERENCE.items():
        value = figures.get(key)
        t.add_row(key, "" if value is None else f"{value:,}" if isinstance(value, int) else str(value), f"{ref:,}")
    for key in ("units", "claims", "claims_hosp", "claims_women", "ledger_lines"):
        if key in figures:
            t.add_row(key, f"{figures[key]:,}", "")
    console.print(t)


@app.command("demo")
def demo_cmd(out: Annotated[Path, typer.Option("--out", help="demo folder (replaced)")] = Path("demo"),
             scale: Annotated[str, typer.Option(help="tongliao | region | a number of HOSP members")] = "tongliao",
             seed: Annotated[int, typer.Option(help="random seed")] = 2025,
             serve: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the web UI afterwards")] = True,
             host: Annotated[str, typer.Option(help="address to serve on")] = "127.0.0.1",
             port: Annotated[int, typer.Option(help="port to serve on")] = 8000) -> None:
    """Generate a realistic year, run the whole month cycle, print the year, serve the web UI."""
    from mutualaid.demo import run_demo, year_summary
    from mutualaid.money import fmt, from_fen

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("demo", total=None)

        def tick(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        result = run_demo(out, scale=int(scale) if scale.isdigit() else scale, seed=seed,
                          say=lambda m: progress.console.print(m), progress=tick)
    database = open_db(result.db_url)
    year = year_summary(database)
    _print_figures(result.figures | {"claims_paid": year["approved_with_payout"],
                                     "payout_yuan": f"{from_fen(sum(year['payout_fen_by_product'].values())):,}"})
    t = RichTable(title="claims by status 理赔状态")
    t.add_column("status")
    t.add_column("claims", justify="right")
    for status, n in sorted(year["by_status"].items()):
        t.add_row(status, f"{n:,}")
    console.print(t)
    from mutualaid.cli_settlements import print_year
    print_year(database)
    t = RichTable(title="approved payouts by product 各项目核准金额")
    t.add_column("product")
    t.add_column("yuan 元", justify="right")
    for product, fen in sorted(year["payout_fen_by_product"].items()):
        t.add_row(product, fmt(fen, fen=True))
    console.print(t)
    t = RichTable(title="fund roll-forward and reconciliation 基金滚动与对账")
    for col in ("month 月份", "opening 期初", "in 流入", "out 流出", "closing 期末", "unpaid 未付",
                "late 超15工作日", "over/dup 多付/重复", "unknown 未知"):
        t.add_column(col, justify="right", no_wrap=True)
    for month, s in result.recon.items():
        rf, st = s["roll_forward"], s["by_status"]
        t.add_row(month, rf["opening"], rf["total_inflows"], rf["total_outflows"], rf["closing"],
                  str(st["UNPAID"]["count"]), str(s.get("late_unpaid", "")),
                  str(st["OVERPAID"]["count"] + st["DUPLICATE_PAYMENT"]["count"]), str(st["UNKNOWN_CLAIM"]["count"]))
    console.print(t)
    for claim_no, action in result.reviews:
        console.print(f"demo auditor {'approved' if action == 'approve' else 'rejected'} {claim_no}")
    console.print(f"data work finished in {result.seconds:.0f} s; database {result.db_url}; "
                  f"reports in {result.out_dir / 'reconciliation'}")
    if serve:
        _serve_demo(result.db_url, host, port, result.out_dir / "reconciliation")


def _serve_demo(db_url: str, host: str, port: int, reports: Path) -> None:
    from mutualaid.demo import create_demo_users

    users = create_demo_users(open_db(db_url))
    t = RichTable(title=f"web UI 网页: http://{host}:{port}/   demo users 演示账号")
    for col in ("role 角色", "user 用户名", "password 密码"):
        t.add_column(col)
    for role, username, password in users:
        t.add_row(role, username, password)
    console.print(t)
    serve(host=host, port=port, secure_cookies=None, reports_dir=reports, workers=1, db=db_url)
from mutualaid.cli_settlements import app as _settlements_app; app.add_typer(_settlements_app, name="settlements")  # noqa: E402,E702

"""The `mutualaid` console command (cli.md). Commands translate arguments into use-case calls."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

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

console = Console()
err = Console(stderr=True)

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
    """Shared shape of the three imports: progress, summary, error report, exit code."""
    try:
        from mutualaid.tabular import open_table  # noqa: F401  (import errors surface here)

        with _progress(_rows_hint(path)) as progress:
            task = progress.add_task(path.name, total=_rows_hint(path))
            report: ImportReport = fn(path=path, progress=lambda n: progress.advance(task, n), **kw)
    except FileProblem as problem:
        err.print(f"[red]{problem}[/red]")
        raise typer.Exit(2) from None
    _print_report(kind_label, report, errors)
    raise typer.Exit(report.exit_code)


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

    database = open_db(db)
    _run_import("roster 参保名册", lambda **kw: import_roster(database, **kw), file, errors, user=user)


@claims_app.command("submit")
def claims_submit(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                  clerk: Annotated[str, typer.Option(help="the submitting clerk")] = "cli") -> None:
    """Store a claim batch; print the batch id and counts."""
    from mutualaid.claims.intake import submit_batch

    database = open_db(db)
    _run_import("claim batch 申请批次", lambda **kw: submit_batch(database, **kw), file, errors, clerk=clerk)


def parse_day(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]not a date (YYYY-MM-DD): {value}[/red]")
        raise typer.Exit(2) from None

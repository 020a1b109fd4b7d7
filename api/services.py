"""What the JSON API and the pages share: turning a request into use-case calls.

No SQL and no business rules here: uploads are checked and stored under generated names,
then handed to the services (``import_roster``, ``mutualaid.claims.service.submit`` and
``review_claim``, ``import_ledger``, ``mutualaid.ledger.service.resolve``, the batch jobs),
which hold every rule the CLI meets too; their answers and errors become :class:`AppError`.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile

from api.errors import AppError
from api.jobs import Job, JobBusy, JobFailed, JobRegistry
from api.settings import Settings
from mutualaid.cellsafe import safe_row
from mutualaid.idnumber import mask, mask_account
from mutualaid.imports import ImportReport, RowError, write_errors_csv
from mutualaid.ledger import queries as ledger_queries
from mutualaid.ledger import service as reconciliation
from mutualaid.claims import service as claims_service
from mutualaid.money import MoneyError, fmt, parse_amount, to_fen
from mutualaid.store.db import Database
from mutualaid.tabular import FileProblem
from mutualaid.users import Principal

ALLOWED_SUFFIXES = (".csv", ".xlsx")
REPORT_FILES = ("items.csv", "summary.json", "report.xlsx")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- uploads -----------------------------------------------------------------------------

def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def display_name(raw: str | None) -> str:
    """The user's file name, for showing only: no folders, no control characters, bounded."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip()
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        name = stem[: 200 - len(ext)] + ext
    return name or "upload"


@dataclass(frozen=True)
class SavedUpload:
    path: Path          # generated name inside settings.upload_dir
    name: str           # the user's file name, for display and to tell CSV from .xlsx

    def discard(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def save_upload(upload: UploadFile | None, settings: Settings,
                allowed: Collection[str] = ALLOWED_SUFFIXES) -> SavedUpload:
    """Type and size checks, then a private copy under a generated name (never the user's)."""
    if upload is None or not isinstance(upload, UploadFile):
        raise AppError(400, "empty_file")
    name = display_name(upload.filename)
    ext = os.path.splitext(name)[1].lower()
    if ext not in allowed:
        raise AppError(415, "unsupported_type", ext=ext or "—")
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=ext, dir=settings.upload_dir)
    path, size = Path(tmp), 0
    try:
        with os.fdopen(fd, "wb") as out:
            upload.file.seek(0)
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise AppError(413, "too_large", size=f"> {human_size(settings.max_upload_bytes)}",
                                   limit=human_size(settings.max_upload_bytes))
                out.write(chunk)
        if size == 0:
            raise AppError(400, "empty_file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SavedUpload(path, name)


def file_problem(problem: FileProblem) -> AppError:
    """A file that cannot be read as an HTTP error: too big (413), of a wrong type (415), else 400."""
    status = {"unsupported_type": 415, "too_large": 413, "too_many_rows": 413, "cell_too_long": 413, "xlsx_too_big_unpacked": 413,
              "xlsx_compression_ratio": 413, "parse_too_slow": 413, "parse_out_of_memory": 413}.get(problem.code, 400)
    return AppError(status, problem.code, **problem.params)


def import_upload(kind: str, db: Database, settings: Settings, user: Principal, upload: UploadFile | None,
                  unit_code: str | None = None) -> ImportReport:
    """Store a roster (ROSTER), claim batch (CLAIMS) or ledger file (LEDGER) for ``user``."""
    if kind == "CLAIMS":
        unit_code = check_unit(user, unit_code)
    saved = save_upload(upload, settings)
    from mutualaid import limits

    try:
        # upload limits; the file is read and checked in a bounded worker process first
        with limits.using(settings.read_limits()):
            if kind == "ROSTER":
                from mutualaid.enrollments import import_roster
                report = import_roster(db, saved.path, user=user.username, file_name=saved.name)
            elif kind == "CLAIMS":
                report = claims_service.submit(db, saved.path, user, unit_code, file_name=saved.name)
            elif kind == "LEDGER":
                from mutualaid.ledger.importer import import_ledger
                report = import_ledger(db, saved.path, user=user.username, file_name=saved.name)
            else:
                raise ValueError(kind)
    except FileProblem as problem:
        raise file_problem(problem) from None
    finally:
        saved.discard()
    report.errors = [masked_error(e) for e in report.errors]
    if report.errors and report.import_id is not None:
        write_errors_csv(report.errors, errors_path(settings, kind, report.import_id), omitted=report.errors_omitted)
    return report


MASKED_COLUMNS = {"member_id_number": mask, "bank_account": mask_account}


def masked_error(e: RowError) -> RowError:
    """ID numbers and bank accounts are masked on every page and in every download; the row
    and column still point at the cell."""
    hide = MASKED_COLUMNS.get(e.column)
    return dataclasses.replace(e, value=hide(e.value)) if hide and e.value else e


def check_unit(user: Principal, unit_code: str | None) -> str:
    """The unit a clerk's batch is filed for (rule: :func:`mutualaid.claims.service.submission_unit`)."""
    try:
        return claims_service.submission_unit(user, unit_code)
    except claims_service.ScopeError as e:
        raise scope_error(e) from None


SCOPE_STATUS = {"err.not_your_unit": 403, "err.claim_not_found": 404}


def scope_error(e: claims_service.ScopeError) -> AppError:
    return AppError(SCOPE_STATUS.get(e.code, 400), e.code, **e.params)


def errors_path(settings: Settings, kind: str, import_id: int) -> Path:
    folder = settings.reports_dir / "import-errors"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{kind.lower()}-{int(import_id)}.csv"


# --- templates for clerks ------------------------------------------------------------------

def claim_template_headers() -> list[str]:
    from mutualaid.claims.intake import COLUMNS
    return [c.aliases[0] if c.aliases else c.name for c in COLUMNS]


def claim_template_csv() -> bytes:
    """Blank claim batch with the Chinese headers, UTF-8 with BOM so Excel shows Chinese."""
    import io
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(safe_row(claim_template_headers()))
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def claim_template_xlsx() -> bytes:
    """Blank claim batch workbook: Chinese headers, every column formatted as text (ID numbers!)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "申请批次"
    headers = claim_template_headers()
    ws.append(safe_row(headers))
    for i, _ in enumerate(headers, 1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = 16
        ws.column_dimensions[letter].number_format = "@"
        for r in range(2, 202):
            ws.cell(row=r, column=i).number_format = "@"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- auditors' decisions ---------------------------------------------------------------------

def parse_payout(text: str | None) -> int | None:
    if text is None or not str(text).strip():
        return None
    try:
        return to_fen(parse_amount(str(text)))
    except (MoneyError, ValueError):
        raise AppError(400, "err.bad_amount") from None


def review_claim(db: Database, user: Principal, claim_id: int, *, action: str, reason: str, version: int,
                 payout_fen: int | None = None, as_of: dt.date | None = None) -> Any:
    """approve | reject | override (= approve with a new amount); 404 / 403 / 409 as HTTP wants.

    Every rule is in :func:`mutualaid.claims.service.review_claim`, which the CLI calls too.
    """
    from mutualaid.casework.service import CaseworkError
    from mutualaid.claims.review import ReviewConflict, ReviewError, ReviewForbidden

    try:
        return claims_service.review_claim(db, user=user.username, action=action, reason=reason,
                                           as_of=as_of or dt.date.today(), claim_id=claim_id, units=user.units,
                                           payout_fen=payout_fen, expected_version=version)
    except (claims_service.ReasonRequired, claims_service.PayoutRequired) as e:
        raise AppError(400, e.code) from None
    except claims_service.ScopeError as e:
        raise scope_error(e) from None
    except ReviewConflict:
        raise AppError(409, "err.review_conflict", version=version) from None
    except ReviewForbidden:
        raise AppError(403, "err.own_batch") from None
    except ReviewError as e:
        raise AppError(400, "err.invalid", details=str(e)) from None
    except CaseworkError as e:
        raise AppError(403 if e.code == "case.appeal_same_auditor" else 400, e.code, **e.params) from None


# --- background jobs -------------------------------------------------------------------------

def start_adjudication(jobs: JobRegistry, db: Database, user: Principal, as_of: dt.date) -> Job:
    import batch.adjudicate as job
    from mutualaid.store.locks import JobBusy as LockBusy

    def work(progress: Callable[[int, int | None], None]) -> dict[str, Any]:
        try:
            tally = job.run(db, as_of=as_of, user=user.username, progress=progress)
        except LockBusy as busy:
            raise JobFailed(str(busy)) from None
        return {"decided": tally.decided, "by_status": dict(tally.by_status), "waiting": tally.waiting,
                "approved_payout": fmt(tally.approved_fen, fen=True), "pending_payout": fmt(tally.pending_fen, fen=True)}

    try:
        return jobs.start("adjudicate", user.username, work, as_of=as_of.isoformat())
    except JobBusy as busy:
        raise AppError(409, "err.job_busy", kind="adjudicate", job_id=busy.job.id) from None


def run_dir(settings: Settings, run_id: int) -> Path:
    return settings.reports_dir / "reconciliation" / f"run-{int(run_id)}"


def start_reconciliation(jobs: JobRegistry, db: Database, settings: Settings, user: Principal, month: str) -> Job:
    def work(progress: Callable[[int, int | None], None]) -> dict[str, Any]:
        progress(0, 2)
        base = settings.reports_dir / "reconciliation"
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = Path(tempfile.mkdtemp(prefix="run-", dir=base))
        try:
            try:
                result = reconciliation.run(db, month, tmp, user=user.username)
            except ValueError as e:
                raise JobFailed(str(e)) from None
            run_id, rec = result.run_id, result.reconciliation
            progress(1, 2)
            target = run_dir(settings, run_id)
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        progress(2, 2)
        return {"run_id": int(run_id), "month": month, "items": len(rec.items)}

    try:
        return jobs.start("reconcile", user.username, work, month=month)
    except JobBusy as busy:
        raise AppError(409, "err.job_busy", kind="reconcile", job_id=busy.job.id) from None


def resolve_item(db: Database, user: Principal, month: str, item_key: str, note: str) -> None:
    """Finance's note on an item (rule: :func:`mutualaid.ledger.service.resolve`, as in the CLI)."""
    try:
        reconciliation.resolve(db, month, item_key, note, user=user.username)
    except reconciliation.NoteRequired:
        raise AppError(400, "err.note_required") from None
    except reconciliation.UnknownItem:
        raise AppError(404, "err.item_not_found") from None
    except ValueError as e:
        raise AppError(400, "err.invalid", details=str(e)) from None


def report_files(settings: Settings, run: ledger_queries.ReconRunView, *, latest: bool) -> dict[str, Path]:
    """The report files of a run on this server: the run's own folder (runs started here),
    or, for the month's latest run, a month folder as `mutualaid reconcile --out` and the
    demo write them (``<reports_dir>/<month>/``)."""
    folders = [run_dir(settings, run.id)]
    if latest:
        folders.append(settings.reports_dir / run.month)
    for folder in folders:
        found = {n: folder / n for n in REPORT_FILES if (folder / n).is_file()}
        if found:
            return found
    return {}


def report_file(settings: Settings, run: ledger_queries.ReconRunView, name: str, *, latest: bool) -> Path:
    if name not in REPORT_FILES:
        raise AppError(404, "err.not_found")
    path = report_files(settings, run, latest=latest).get(name)
    if path is None:
        raise AppError(404, "err.report_missing")
    return path


def decisions_csv(db: Database, settings: Settings, batch_id: int | None) -> Path:
    """The decision export of files.md in a private temporary file (the caller deletes it)."""
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix="decisions-", suffix=".csv", dir=settings.upload_dir)
    os.close(fd)
    try:
        claims_service.export_decisions(db, Path(tmp), batch_id=batch_id)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)

"""Claim batch intake: validate a clerk's file row by row and store the good rows.

A member unknown to the enrollment records is not a row error: the claim is stored and
the rules reject it (R01), so the clerk sees it among the decisions.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import fields, money
from mutualaid.claims.status import RECEIVED, RETURNED
from mutualaid.fields import FieldError
from mutualaid.imports import ImportReport, Progress, RowError, row_hash, run_import
from mutualaid.store.bulk import insert_rows
from mutualaid.store.db import Database
from mutualaid.store.models import Claim
from mutualaid.tabular import Cell, ColumnSpec

KIND = "CLAIMS"
COLUMNS = (
    ColumnSpec("claim_no", ("申请编号",)),
    ColumnSpec("product", ("保障项目",)),
    ColumnSpec("member_id_number", ("身份证号",)),
    ColumnSpec("member_name", ("姓名",)),
    ColumnSpec("submitted_date", ("申请日期",)),
    ColumnSpec("admission_date", ("入院日期",), required=False),
    ColumnSpec("discharge_date", ("出院日期",), required=False),
    ColumnSpec("hospital_name", ("医院名称",), required=False),
    ColumnSpec("diagnosis_code", ("诊断编码",), required=False),
    ColumnSpec("cause", ("住院原因",), required=False),
    ColumnSpec("total_cost", ("医疗总费用",), required=False),
    ColumnSpec("insurance_paid", ("医保统筹支付",), required=False),
    ColumnSpec("in_policy_self_pay", ("政策内自付",), required=False),
    ColumnSpec("out_of_policy_self_pay", ("自费",), required=False),
    ColumnSpec("diagnosis_date", ("确诊日期",), required=False),
    ColumnSpec("pathology_confirmed", ("病理确诊",), required=False),
    ColumnSpec("surgery", ("手术类型",), required=False),
)
HOSP_ONLY = ("admission_date", "discharge_date", "hospital_name", "cause", "total_cost",
             "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay")
WOMEN_ONLY = ("diagnosis_date", "pathology_confirmed", "surgery")
MONEY = ("total_cost", "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay")
_EMPTY = Cell("", "empty")
# widths of the free-text columns in the store: longer is a row error (PostgreSQL would refuse the file)
MAX_LENGTH = {c: Claim.__table__.c[c].type.length for c in ("claim_no", "member_name", "hospital_name")}

# The stored content of a claim, in a fixed order: what its row hash covers.
STORED = ("product", "member_id_number", "member_name", "submitted_date", "admission_date",
          "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost_fen",
          "insurance_paid_fen", "in_policy_self_pay_fen", "out_of_policy_self_pay_fen",
          "diagnosis_date", "pathology_confirmed", "surgery")


class _NotPlain(Exception):
    """The fast path met something unusual: the reporting path decides."""


def _fast(c: dict[str, Cell]) -> dict[str, Any]:
    """The common case, a valid row from a CSV, without per-field bookkeeping.

    Raises on anything unusual; ``_reporting`` then re-checks the row field by field and
    says what is wrong. Both produce the same values for a valid row (a test checks it).
    """
    for cell in c.values():
        if cell.kind not in ("text", "empty", "date"):
            raise _NotPlain
    if c.get("__extra__", _EMPTY).text:
        raise _NotPlain
    claim_no, name = c["claim_no"].text, c["member_name"].text
    product = fields.PRODUCTS[c["product"].text]
    if not fields.CLAIM_NO.fullmatch(claim_no) or not name \
            or not fields.fits(name, MAX_LENGTH["member_name"]):
        raise _NotPlain
    ident = fields._id(c["member_id_number"].text)
    submitted = fields._date(c["submitted_date"].text)
    diag = c["diagnosis_code"].text.upper() or None
    if diag is not None and not fields.ICD10.match(diag):
        raise _NotPlain
    out: dict[str, Any] = {"claim_no": claim_no, "product": product, "member_id_number": ident.value,
                           "member_name": name, "submitted_date": submitted, "diagnosis_code": diag}
    if product == "HOSP":
        for col in WOMEN_ONLY:
            if c[col].text:
                raise _NotPlain
        adm, dis = fields._date(c["admission_date"].text), fields._date(c["discharge_date"].text)
        hospital = c["hospital_name"].text
        cause = fields.CAUSES[c["cause"].text]
        total, *parts = [money.parse_fen(c[col].text) for col in MONEY]
        if dis < adm or submitted < adm or not hospital or total != sum(parts) \
                or not fields.fits(hospital, MAX_LENGTH["hospital_name"]):
            raise _NotPlain
        out.update(event_date=adm, admission_date=adm, discharge_date=dis, hospital_name=hospital, cause=cause,
                   total_cost_fen=total, insurance_paid_fen=parts[0], in_policy_self_pay_fen=parts[1],
                   out_of_policy_self_pay_fen=parts[2], diagnosis_date=None, pathology_confirmed=None,
                   surgery=None)
    else:
        for col in HOSP_ONLY:
            if c[col].text:
                raise _NotPlain
        diagnosed = fields._date(c["diagnosis_date"].text)
        if diag is None or submitted < diagnosed:
            raise _NotPlain
        pathology = c["pathology_confirmed"].text
        surgery = c["surgery"].text or "none"
        if surgery not in fields.SURGERIES:
            raise _NotPlain
        out.update(event_date=diagnosed, admission_date=None, discharge_date=None, hospital_name=None,
                   cause=None, total_cost_fen=None, insurance_paid_fen=None, in_policy_self_pay_fen=None,
                   out_of_policy_self_pay_fen=None, diagnosis_date=diagnosed,
                   pathology_confirmed=fields.YES_NO[pathology] if pathology else None, surgery=surgery)
    return out


INSERTED = ("claim_no", "event_date", "row_hash", *STORED)


class ParsedClaim(NamedTuple):
    """A validated claim row as it crosses from the parser process to the storing one.

    A named tuple: read by name, pickled as compactly as a plain tuple (a dict costs twice
    as much); the row hash is left to the storing process. Fields after ``event_date`` are
    ``STORED``, in that order (checked below), so ``stored`` is what the row hash covers.
    """

    row: int
    claim_no: str
    event_date: dt.date | None
    product: str
    member_id_number: str
    member_name: str
    submitted_date: dt.date
    admission_date: dt.date | None
    discharge_date: dt.date | None
    hospital_name: str | None
    diagnosis_code: str | None
    cause: str | None
    total_cost_fen: int | None
    insurance_paid_fen: int | None
    in_policy_self_pay_fen: int | None
    out_of_policy_self_pay_fen: int | None
    diagnosis_date: dt.date | None
    pathology_confirmed: bool | None
    surgery: str | None

    @property
    def stored(self) -> tuple[Any, ...]:
        """The ``STORED`` values, in that order (what ``row_hash`` covers)."""
        return self[3:]

    def content(self) -> dict[str, Any]:
        """The claim's new content by column (``STORED`` and ``event_date``), e.g. for a correction."""
        out = dict(zip(STORED, self[3:]))
        out["event_date"] = self.event_date
        return out


assert ParsedClaim._fields[3:] == STORED, "ParsedClaim must list STORED in order"
_parsed = ParsedClaim._make
_RECEIVED = RECEIVED.value  # plain str for executemany (a str subclass binds slower)


def parse_row(row: int, cells: dict[str, Cell], errors: list[RowError]) -> ParsedClaim | None:
    """Validate one claim row into what ``claims`` stores; None if it has errors."""
    try:
        values = _fast(cells)
    except Exception:  # noqa: BLE001 - any surprise: the reporting path explains it
        values = _reporting(row, cells, errors)
        if values is None:
            return None
    return _parsed((row, values["claim_no"], values["event_date"], *[values[k] for k in STORED]))


def _reporting(row: int, cells: dict[str, Cell], errors: list[RowError]) -> dict[str, Any] | None:
    before = len(errors)
    out: dict[str, Any] = {}

    def cell(col: str) -> Cell:
        return cells.get(col, _EMPTY)

    def take(col: str, fn, *args, key: str | None = None, **kw) -> Any:  # noqa: ANN001
        try:
            value = fn(cell(col), *args, **kw)
        except FieldError as e:
            errors.append(RowError.of(row, col, cell(col).text, e.code, **e.params))
            return None
        out[key or col] = value
        return value

    take("claim_no", fields.claim_no, max_length=MAX_LENGTH["claim_no"])
    product = take("product", fields.product)
    ident = take("member_id_number", fields.id_number, key="_id")
    if ident is not None:
        out["member_id_number"] = ident.value
    take("member_name", fields.text, max_length=MAX_LENGTH["member_name"])
    submitted = take("submitted_date", fields.date)
    if "__extra__" in cells and cells["__extra__"].text:
        errors.append(RowError.of(row, "__extra__", cells["__extra__"].text, "extra_cells"))

    event: dt.date | None = None
    if product == "HOSP":
        take("diagnosis_code", fields.icd10, required=False)
        adm = take("admission_date", fields.date)
        dis = take("discharge_date", fields.date)
        take("hospital_name", fields.text, max_length=MAX_LENGTH["hospital_name"])
        take("cause", fields.choice, fields.CAUSES, "bad_cause")
        amounts = [take(c, fields.amount_fen, key=c + "_fen") for c in MONEY]
        if adm and dis and dis < adm:
            errors.append(RowError.of(row, "discharge_date", cell("discharge_date").text, "discharge_before_admission"))
        if None not in amounts and amounts[0] != sum(amounts[1:]):  # type: ignore[arg-type]
            errors.append(RowError.of(row, "total_cost", cell("total_cost").text, "costs_dont_add_up",
                                      expected=fields.amount_text(sum(amounts[1:]))))  # type: ignore[arg-type]
        other = WOMEN_ONLY
        event, event_label = adm, "admission_date"
    elif product == "WOMEN":
        take("diagnosis_code", fields.icd10, required=True)
        event = take("diagnosis_date", fields.date)
        take("pathology_confirmed", fields.yes_no)
        take("surgery", fields.choice, fields.SURGERIES, "bad_surgery", required=False, default="none")
        other, event_label = HOSP_ONLY, "diagnosis_date"
    else:
        other, event_label = (), ""
    for col in other:
        if cell(col).text:
            errors.append(RowError.of(row, col, cell(col).text, "other_product_column"))
    if submitted and event and submitted < event:
        errors.append(RowError.of(row, "submitted_date", cell("submitted_date").text,
                                  "submitted_before_event", event=event_label))
    if len(errors) > before:
        return None
    out.pop("_id")
    out["event_date"] = event
    for col in STORED:
        out.setdefault(col, None)
    return out


def submit_batch(db: Database, path: str | Path, *, clerk: str = "cli", file_name: str | None = None,
                 progress: Progress | None = None, unit_code: str | None = None,
                 as_of: dt.date | None = None) -> ImportReport:
    """Store a claim batch in one transaction (a crash stores nothing; a re-run is safe).

    ``unit_code``: the employer unit the batch is filed for (web uploads; None from the CLI).
    ``as_of``: the filing day, the date of any settlement claim it withdraws (default today;
    the demo replays a past year month by month).
    """
    from mutualaid.settlements.service import link_clerk_claims

    def begin(session: Session, batch_id: int, report: ImportReport):  # noqa: ANN202
        seen: dict[str, int] = {}

        def store(parsed: list[ParsedClaim]) -> None:
            good = []
            for p in parsed:
                n, claim_no = p.row, p.claim_no
                first = seen.get(claim_no)
                if first is not None:
                    report.errors.append(RowError.of(n, "claim_no", claim_no, "duplicate_in_file", first=first))
                    continue
                seen[claim_no] = n
                good.append(p)
            link_clerk_claims(session, _store_chunk(session, batch_id, good, report), user=clerk, as_of=as_of)
        return store

    return run_import(db, path, COLUMNS, kind=KIND, user=clerk, file_name=file_name, progress=progress,
                      audit_action="claims.submit", audit_entity="batch", parse=parse_row, begin=begin,
                      unit_code=unit_code)


def _store_chunk(session: Session, batch_id: int, rows: list[ParsedClaim], report: ImportReport) -> list[str]:
    """Store the new claims of a chunk; returns their claim numbers."""
    if not rows:
        return []
    existing = {r.claim_no: (r.row_hash, r.status) for r in session.execute(
        select(Claim.claim_no, Claim.row_hash, Claim.status).where(Claim.claim_no.in_([p.claim_no for p in rows]))
    ).all()}
    fresh, corrected = [], []
    for p in rows:
        stored = p.stored
        digest = row_hash(*stored)
        stored_hash, status = existing.get(p.claim_no, (None, None))
        if stored_hash is None:
            fresh.append((p.claim_no, p.event_date, digest, *stored, batch_id, _RECEIVED, 0, "", "", 0))
        elif stored_hash == digest:
            report.unchanged += 1
        elif status == RETURNED:  # a correction of a claim returned to the unit (mutualaid.casework)
            corrected.append((p, digest))
        else:
            report.errors.append(RowError.of(p.row, "claim_no", p.claim_no, "conflict", key=p.claim_no))
    if corrected:
        from mutualaid.casework.corrections import resubmit_rows

        resubmit_rows(session, batch_id, STORED, corrected, report)
    if fresh:
        insert_rows(session.connection(), Claim.__table__,
                    (*INSERTED, "batch_id", "status", "payout_fen", "reason_codes", "policy_version", "version"), fresh)
        report.stored += len(fresh)
    return [f[0] for f in fresh]

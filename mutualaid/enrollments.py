"""Enrollment roster import: units, members and enrollments from a workplace union's file."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import fields as fields_of
from operator import attrgetter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import fields, money
from mutualaid.fields import FieldError
from mutualaid.idnumber import age_on
from mutualaid.imports import ImportReport, Progress, RowError, row_hash, run_import
from mutualaid.policy import WomenPolicy, policy_for_start
from mutualaid.store.bulk import insert_rows
from mutualaid.store.db import Database
from mutualaid.store.models import Enrollment, Member, Unit
from mutualaid.tabular import Cell, ColumnSpec

KIND = "ROSTER"
COLUMNS = (
    ColumnSpec("unit_code", ("单位编码",)),
    ColumnSpec("unit_name", ("单位名称",)),
    ColumnSpec("member_id_number", ("身份证号",)),
    ColumnSpec("member_name", ("姓名",)),
    ColumnSpec("product", ("保障项目",)),
    ColumnSpec("units", ("份数",)),
    ColumnSpec("start_date", ("保障起期",)),
    ColumnSpec("end_date", ("保障止期",)),
    ColumnSpec("premium_paid", ("缴费金额",)),
    ColumnSpec("bank_account", ("银行卡号",), required=False),
)
MAX_PERIOD_DAYS = 366
# widths of the free-text columns in the store: longer is a row error (PostgreSQL would refuse the file)
MAX_LENGTH = {"unit_code": Unit.__table__.c.code.type.length, "unit_name": Unit.__table__.c.name.type.length,
              "member_name": Member.__table__.c.name.type.length}
ENROLLMENT_COLUMNS = ("member_id", "unit_id", "product", "units", "start_date", "end_date", "premium_fen",
                      "bank_account", "policy_version", "import_id", "row_hash")


@dataclass(slots=True)
class RosterRow:
    row: int
    unit_code: str
    unit_name: str
    id_number: str
    birth_date: dt.date
    sex: str
    name: str
    product: str
    units: int
    start: dt.date
    end: dt.date
    premium_fen: int
    bank_account: str | None
    policy_version: int
    hash: str = ""  # content fingerprint, filled by parse_row (in the parser process for big files)

    def __reduce__(self):  # noqa: ANN204 - to the storing process: half the cost of dataclass state pickling
        return RosterRow, _ROSTER_FIELDS(self)

    def content_hash(self) -> str:
        return row_hash(self.unit_code, self.name, self.product, self.units, self.start,
                        self.end, self.premium_fen, self.bank_account)


_ROSTER_FIELDS = attrgetter(*[f.name for f in fields_of(RosterRow)])


def _fast(row: int, c: dict[str, Cell]) -> RosterRow:
    """A valid plain row without per-field bookkeeping; raises on anything unusual."""
    for cell in c.values():
        if cell.kind not in ("text", "empty", "date"):
            raise ValueError
    if c.get("__extra__", fields.EMPTY_CELL).text:
        raise ValueError
    unit_code, unit_name, name = c["unit_code"].text, c["unit_name"].text, c["member_name"].text
    if not (unit_code and unit_name and name) or not fields.fits(unit_code, MAX_LENGTH["unit_code"]) \
            or not fields.fits(unit_name, MAX_LENGTH["unit_name"]) or not fields.fits(name, MAX_LENGTH["member_name"]):
        raise ValueError
    ident = fields._id(c["member_id_number"].text)
    product = fields.PRODUCTS[c["product"].text]
    start, end = fields._date(c["start_date"].text), fields._date(c["end_date"].text)
    policy = policy_for_start(start)
    units_text = c["units"].text
    if policy is None or end < start or (end - start).days + 1 > MAX_PERIOD_DAYS or not units_text.isdigit():
        raise ValueError
    params = policy.product(product)
    units = int(units_text)
    premium = money.parse_fen(c["premium_paid"].text)
    if not 1 <= units <= params.max_units or premium != money.to_fen(params.premium_per_unit) * units:
        raise ValueError
    if isinstance(params, WomenPolicy) and (
            ident.sex != params.sex or not params.min_age <= age_on(ident.birth_date, start) <= params.max_age):
        raise ValueError
    bank = fields.bank_account(c["bank_account"])
    return RosterRow(row, unit_code, unit_name, ident.value, ident.birth_date, ident.sex, name, product, units,
                     start, end, premium, bank, policy.version)


def parse_row(row: int, cells: dict[str, Cell], errors: list[RowError]) -> RosterRow | None:
    """Validate one roster row; every problem is reported, not only the first."""
    try:
        parsed = _fast(row, cells)
    except Exception:  # noqa: BLE001 - any surprise: the reporting path explains it
        parsed = _reporting(row, cells, errors)
    if parsed is not None:
        parsed.hash = parsed.content_hash()
    return parsed


def _reporting(row: int, cells: dict[str, Cell], errors: list[RowError]) -> RosterRow | None:
    out: dict[str, object] = {}
    before = len(errors)

    def take(col: str, fn, *args, **kw) -> None:  # noqa: ANN001
        try:
            out[col] = fn(cells[col], *args, **kw)
        except FieldError as e:
            errors.append(RowError.of(row, col, cells[col].text, e.code, **e.params))

    take("unit_code", fields.text, max_length=MAX_LENGTH["unit_code"])
    take("unit_name", fields.text, max_length=MAX_LENGTH["unit_name"])
    take("member_id_number", fields.id_number)
    take("member_name", fields.text, max_length=MAX_LENGTH["member_name"])
    take("product", fields.product)
    take("start_date", fields.date)
    take("end_date", fields.date)
    take("premium_paid", fields.amount_fen)
    take("bank_account", fields.bank_account)
    if "__extra__" in cells and cells["__extra__"].text:
        errors.append(RowError.of(row, "__extra__", cells["__extra__"].text, "extra_cells"))

    product, start, end = out.get("product"), out.get("start_date"), out.get("end_date")
    policy = policy_for_start(start) if isinstance(start, dt.date) else None
    if isinstance(start, dt.date) and policy is None:
        errors.append(RowError.of(row, "start_date", cells["start_date"].text, "no_policy", year=start.year))
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        if end < start:
            errors.append(RowError.of(row, "end_date", cells["end_date"].text, "end_before_start"))
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            errors.append(RowError.of(row, "end_date", cells["end_date"].text, "period_too_long"))
    if policy is not None and isinstance(product, str):
        params = policy.product(product)
        try:
            units = fields.whole_number(cells["units"])
            if not 1 <= units <= params.max_units:
                raise ValueError
            out["units"] = units
        except (ValueError, FieldError):
            errors.append(RowError.of(row, "units", cells["units"].text, "bad_units", max=params.max_units))
        if "units" in out and isinstance(out.get("premium_paid"), int):
            expected = money.to_fen(params.premium_per_unit) * int(out["units"])  # type: ignore[arg-type]
            if out["premium_paid"] != expected:
                errors.append(RowError.of(row, "premium_paid", cells["premium_paid"].text,
                                          "premium_mismatch", expected=money.fmt(expected, fen=True)))
        ident = out.get("member_id_number")
        if isinstance(params, WomenPolicy) and ident is not None:
            if ident.sex != params.sex:  # type: ignore[union-attr]
                errors.append(RowError.of(row, "member_id_number", cells["member_id_number"].text, "women_not_female"))
            else:
                age = age_on(ident.birth_date, start)  # type: ignore[union-attr,arg-type]
                if not params.min_age <= age <= params.max_age:
                    errors.append(RowError.of(row, "member_id_number", cells["member_id_number"].text,
                                              "women_age", min=params.min_age, max=params.max_age, age=age))
    if len(errors) > before or policy is None:
        return None
    ident = out["member_id_number"]
    return RosterRow(
        row, out["unit_code"], out["unit_name"], ident.value, ident.birth_date, ident.sex,  # type: ignore[union-attr]
        out["member_name"], product, out["units"], start, end, out["premium_paid"],  # type: ignore[arg-type]
        out["bank_account"], policy.version,  # type: ignore[arg-type]
    )


def import_roster(db: Database, path: str | Path, *, user: str = "cli", file_name: str | None = None,
                  progress: Progress | None = None) -> ImportReport:
    """Store a roster file in one transaction: valid rows stored, invalid rows reported."""
    def begin(session: Session, import_id: int, report: ImportReport):  # noqa: ANN202
        state = _FileState()

        def store(parsed: list[RosterRow]) -> None:
            _store_chunk(session, import_id, parsed, state, report)
        return store

    return run_import(db, path, COLUMNS, kind=KIND, user=user, file_name=file_name, progress=progress,
                      audit_action="roster.import", audit_entity="file_import", parse=parse_row, begin=begin)


class _FileState:
    """What earlier chunks of this file established (ids of units and members)."""

    def __init__(self) -> None:
        self.units: dict[str, tuple[int, str]] = {}
        self.members: dict[str, tuple[int, str]] = {}


def _store_chunk(session: Session, import_id: int, rows: list[RosterRow], state: _FileState,
                 report: ImportReport) -> None:
    if not rows:
        return
    codes = {r.unit_code for r in rows} - state.units.keys()
    if codes:
        for u in session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.code.in_(codes))):
            state.units[u.code] = (u.id, u.name)
    ids = {r.id_number for r in rows} - state.members.keys()
    if ids:
        for m in session.execute(select(Member.id, Member.id_number, Member.name).where(Member.id_number.in_(ids))):
            state.members[m.id_number] = (m.id, m.name)
    member_ids = [state.members[r.id_number][0] for r in rows if r.id_number in state.members]
    existing: dict[tuple[int, str], list] = {}
    if member_ids:  # Core rows, not ORM objects: a renewal roster finds a million of them
        for e in session.connection().execute(
                select(Enrollment.member_id, Enrollment.product, Enrollment.start_date, Enrollment.end_date,
                       Enrollment.row_hash).where(Enrollment.member_id.in_(member_ids))).all():
            existing.setdefault((e.member_id, e.product), []).append(e)

    pending_units: dict[str, str] = {}
    pending_members: dict[str, RosterRow] = {}
    pending_enrollments: list[RosterRow] = []
    file_periods: dict[tuple[str, str], list[tuple[dt.date, dt.date, int]]] = {}
    for r in rows:
        errs: list[RowError] = []
        unit = state.units.get(r.unit_code)
        unit_name = unit[1] if unit else pending_units.get(r.unit_code)
        if unit_name is not None and unit_name != r.unit_name:
            errs.append(RowError.of(r.row, "unit_name", r.unit_name, "unit_name_mismatch", name=unit_name))
        member = state.members.get(r.id_number)
        member_name = member[1] if member else (pending_members[r.id_number].name if r.id_number in pending_members else None)
        if member_name is not None and member_name != r.name:
            errs.append(RowError.of(r.row, "member_name", r.name, "name_mismatch_member", name=member_name))
        key_status = None
        periods: list[tuple[dt.date, dt.date, str]] = []
        if member is not None:
            for e in existing.get((member[0], r.product), []):
                if e.start_date == r.start:
                    key_status = "unchanged" if e.row_hash == r.hash else "conflict"
                else:
                    periods.append((e.start_date, e.end_date, f"{e.start_date}~{e.end_date}"))
        for s, e_, row_no in file_periods.get((r.id_number, r.product), []):
            if s == r.start:
                key_status = "conflict_file"
                periods.append((s, e_, f"row {row_no}"))
            else:
                periods.append((s, e_, f"row {row_no}"))
        if key_status == "unchanged" and not errs:
            report.unchanged += 1
            continue
        if key_status == "conflict":
            errs.append(RowError.of(r.row, "start_date", str(r.start), "conflict",
                                    key=f"{r.id_number[:6]}…/{r.product}/{r.start}"))
        else:
            for s, e_, label in periods:
                if s <= r.end and r.start <= e_:
                    errs.append(RowError.of(r.row, "start_date", str(r.start), "enrollment_overlap", other=label))
                    break
        if errs:
            report.errors.extend(errs)
            continue
        if unit is None and r.unit_code not in pending_units:
            pending_units[r.unit_code] = r.unit_name
        if member is None and r.id_number not in pending_members:
            pending_members[r.id_number] = r
        file_periods.setdefault((r.id_number, r.product), []).append((r.start, r.end, r.row))
        pending_enrollments.append(r)

    if pending_units:
        insert_rows(session.connection(), Unit.__table__, ("code", "name"), list(pending_units.items()))
        for u in session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.code.in_(pending_units))):
            state.units[u.code] = (u.id, u.name)
    if pending_members:
        insert_rows(session.connection(), Member.__table__, ("id_number", "name", "birth_date", "sex"),
                    [(r.id_number, r.name, r.birth_date, r.sex) for r in pending_members.values()])
        for m in session.execute(select(Member.id, Member.id_number, Member.name)
                                 .where(Member.id_number.in_(pending_members))):
            state.members[m.id_number] = (m.id, m.name)
    if pending_enrollments:
        insert_rows(session.connection(), Enrollment.__table__, ENROLLMENT_COLUMNS, [
            (state.members[r.id_number][0], state.units[r.unit_code][0], r.product, r.units, r.start, r.end,
             r.premium_fen, r.bank_account, r.policy_version, import_id, r.hash) for r in pending_enrollments])
        report.stored += len(pending_enrollments)

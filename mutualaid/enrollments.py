"""Enrollments: the roster import (units, members and enrollments from a workplace union's
file) and the read side that shows an enrollment and the units."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from dataclasses import fields as fields_of
from functools import lru_cache
from operator import attrgetter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import fields, money
from mutualaid.fields import FieldError
from mutualaid.idnumber import age_on, mask_account
from mutualaid.imports import ImportReport, Progress, RowError, run_import, text_hash
from mutualaid.policy import WomenPolicy, policies, policy_for_start
from mutualaid.store.bulk import insert_rows, select_in
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
    hash: str = ""  # content fingerprint, filled by the storing side (_store_chunk)

    def __reduce__(self):  # noqa: ANN204 - to the storing process: half the cost of dataclass state pickling
        return RosterRow, _ROSTER_FIELDS(self)

    def content_hash(self) -> str:
        # row_hash(unit_code, name, product, units, start, end, premium_fen, bank_account),
        # its text built in one f-string (the hot path of a million-row roster)
        return text_hash(f"{self.unit_code}\x1f{self.name}\x1f{self.product}\x1f{self.units}\x1f{self.start}"
                         f"\x1f{self.end}\x1f{self.premium_fen}\x1f{self.bank_account or ''}")


_ROSTER_FIELDS = attrgetter(*[f.name for f in fields_of(RosterRow)])


_PLAIN_KINDS = frozenset(("text", "empty", "date"))
_kind = attrgetter("kind")


@lru_cache(maxsize=64)
def _premium_fen_per_unit(version: int, product: str) -> int:
    return money.to_fen(policies()[version].product(product).premium_per_unit)


_amount_fen = lru_cache(maxsize=1024)(money.parse_fen)  # a roster has a handful of distinct premiums


def _fast(row: int, c: dict[str, Cell]) -> RosterRow:
    """A valid plain row without per-field bookkeeping; raises on anything unusual."""
    if not _PLAIN_KINDS.issuperset(map(_kind, c.values())) or c.get("__extra__", fields.EMPTY_CELL).text:
        raise ValueError
    unit_code, unit_name, name = c["unit_code"].text, c["unit_name"].text, c["member_name"].text
    if not (unit_code and unit_name and name) or len(unit_code) > MAX_LENGTH["unit_code"] \
            or len(unit_name) > MAX_LENGTH["unit_name"] or len(name) > MAX_LENGTH["member_name"] \
            or fields.CONTROL_CHARS.search(unit_code + unit_name + name):
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
    premium = _amount_fen(c["premium_paid"].text)
    if not 1 <= units <= params.max_units or premium != _premium_fen_per_unit(policy.version, product) * units:
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
        return _fast(row, cells)
    except Exception:  # noqa: BLE001 - any surprise: the reporting path explains it
        return _reporting(row, cells, errors)


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


_UNITS_SQL = "SELECT id, code, name FROM units WHERE code {in_}"
_MEMBERS_SQL = "SELECT id, id_number, name FROM members WHERE id_number {in_}"
_ENROLLMENTS_SQL = ("SELECT member_id, product, start_date, end_date, row_hash FROM enrollments "
                    "WHERE member_id {in_}")


def _store_chunk(session: Session, import_id: int, rows: list[RosterRow], state: _FileState,
                 report: ImportReport) -> None:
    """Check one chunk against the store and earlier rows of the file, then insert what is new.

    The hot path of a million-row roster: plain tuples and one-parameter IN lists
    (:func:`select_in`), dates formatted only for the rows that need an error message.
    """
    if not rows:
        return
    # The content hash is computed here, not in the parser: with a parser process the
    # parser is the busier of the two (region-scale rosters), this side has CPU to spare.
    for r in rows:
        r.hash = r.content_hash()
    conn = session.connection()
    units, members = state.units, state.members
    codes = {r.unit_code for r in rows} - units.keys()
    for uid, code, name in select_in(conn, _UNITS_SQL, codes):
        units[code] = (uid, name)
    ids = {r.id_number for r in rows} - members.keys()
    for mid, id_number, name in select_in(conn, _MEMBERS_SQL, ids):
        members[id_number] = (mid, name)
    member_ids = {members[r.id_number][0] for r in rows if r.id_number in members}
    existing: dict[tuple[int, str], list[tuple]] = {}
    for e in select_in(conn, _ENROLLMENTS_SQL, member_ids, date_columns=(2, 3)):
        existing.setdefault((e[0], e[1]), []).append(e)

    pending_units: dict[str, str] = {}
    pending_members: dict[str, RosterRow] = {}
    pending_enrollments: list[RosterRow] = []
    # (ID number, product) -> periods of earlier rows of this file: (start, end, row number)
    file_periods: dict[tuple[str, str], list[tuple[dt.date, dt.date, int]]] = {}
    for r in rows:
        errs: list[RowError] = []
        code, ident, product = r.unit_code, r.id_number, r.product
        unit = units.get(code)
        unit_name = unit[1] if unit is not None else pending_units.get(code)
        if unit_name is not None and unit_name != r.unit_name:
            errs.append(RowError.of(r.row, "unit_name", r.unit_name, "unit_name_mismatch", name=unit_name))
        member = members.get(ident)
        if member is not None:
            member_name: str | None = member[1]
            stored = existing.get((member[0], product))
        else:
            first = pending_members.get(ident)
            member_name = first.name if first is not None else None
            stored = None
        if member_name is not None and member_name != r.name:
            errs.append(RowError.of(r.row, "member_name", r.name, "name_mismatch_member", name=member_name))
        earlier = file_periods.get((ident, product))
        if stored or earlier:
            status = _period_check(r, stored or (), earlier or (), errs)
            if status == "unchanged" and not errs:
                report.unchanged += 1
                continue
        if errs:
            report.errors.extend(errs)
            continue
        if unit is None and code not in pending_units:
            pending_units[code] = r.unit_name
        if member is None and ident not in pending_members:
            pending_members[ident] = r
        if earlier is None:
            file_periods[ident, product] = [(r.start, r.end, r.row)]
        else:
            earlier.append((r.start, r.end, r.row))
        pending_enrollments.append(r)

    if pending_units:
        insert_rows(conn, Unit.__table__, ("code", "name"), list(pending_units.items()))
        for uid, code, name in select_in(conn, _UNITS_SQL, pending_units.keys()):
            units[code] = (uid, name)
    if pending_members:
        insert_rows(conn, Member.__table__, ("id_number", "name", "birth_date", "sex"),
                    [(r.id_number, r.name, r.birth_date, r.sex) for r in pending_members.values()])
        for mid, id_number, name in select_in(conn, _MEMBERS_SQL, pending_members.keys()):
            members[id_number] = (mid, name)
    if pending_enrollments:
        insert_rows(conn, Enrollment.__table__, ENROLLMENT_COLUMNS, [
            (members[r.id_number][0], units[r.unit_code][0], r.product, r.units, r.start, r.end,
             r.premium_fen, r.bank_account, r.policy_version, import_id, r.hash) for r in pending_enrollments])
        report.stored += len(pending_enrollments)


def _period_check(r: RosterRow, stored: Iterable[tuple], earlier: Iterable[tuple[dt.date, dt.date, int]],
                  errs: list[RowError]) -> str | None:
    """Compare a row with the member's stored enrollments and earlier rows of the file (same product).

    Returns "unchanged" when the very same enrollment is stored; adds the conflict or
    overlap error otherwise.
    """
    status = None
    overlap: str | None = None
    for _, _, start, end, hash_ in stored:
        if start == r.start:
            status = "unchanged" if hash_ == r.hash else "conflict"
        elif overlap is None and start <= r.end and r.start <= end:
            overlap = f"{start}~{end}"
    for start, end, row_no in earlier:
        if start == r.start:
            status = "conflict_file"
        if overlap is None and start <= r.end and r.start <= end:
            overlap = f"row {row_no}"
    if status == "conflict":
        errs.append(RowError.of(r.row, "start_date", str(r.start), "conflict",
                                key=f"{r.id_number[:6]}…/{r.product}/{r.start}"))
    elif overlap is not None:
        errs.append(RowError.of(r.row, "start_date", str(r.start), "enrollment_overlap", other=overlap))
    return status


# --- read side ---------------------------------------------------------------------------

# The one display shape of an enrollment: the claim page shows it and the API returns it as
# it is (api/schemas.py). The store's row is store.models.Enrollment; what adjudication reads
# is claims.adjudication.EnrollmentIn (docs/architecture.md, "Shapes of an enrollment").
@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """The enrollment covering a claim, as the claim page shows it."""

    unit_code: str
    unit_name: str
    product: str
    units: int
    start_date: dt.date
    end_date: dt.date
    bank_account: str   # masked (last 4 digits) unless revealed
    policy_version: int


def enrollment_view(session: Session, enrollment_id: int, *, reveal: bool = False) -> EnrollmentView | None:
    e = session.execute(select(Enrollment, Unit.code, Unit.name).join(Unit, Unit.id == Enrollment.unit_id)
                        .where(Enrollment.id == enrollment_id)).first()
    if e is None:
        return None
    en = e.Enrollment
    return EnrollmentView(e.code, e.name, en.product, en.units, en.start_date, en.end_date,
                          (en.bank_account or "") if reveal else mask_account(en.bank_account),
                          en.policy_version)


def unit_names(session: Session, codes_: Collection[str] | None = None) -> dict[str, str]:
    """Unit code -> name (all units, or those of ``codes_``), for filters and headings."""
    q = select(Unit.code, Unit.name).order_by(Unit.code)
    if codes_ is not None:
        q = q.where(Unit.code.in_(sorted(codes_)))
    return dict(session.execute(q.limit(2000)).all())

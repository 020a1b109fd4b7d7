"""The settlement extract's columns and the check of one row (pure: no database).

docs/settlements.md describes the file. A row is an error when a value is malformed or
the amounts do not add up to the fen: ``total_cost`` = ``fund_paid`` +
``serious_illness_paid`` + ``medical_aid_paid`` + ``in_policy_self_pay`` +
``out_of_policy_self_pay``.
"""
from __future__ import annotations

import datetime as dt
import re
from operator import attrgetter
from typing import NamedTuple

from mutualaid import fields, money
from mutualaid.fields import FieldError
from mutualaid.imports import RowError
from mutualaid.settlements.terms import CLAIM_PREFIX
from mutualaid.tabular import EXTRA, Cell, ColumnSpec

COLUMNS = (
    ColumnSpec("settlement_no", ("结算流水号",)),
    ColumnSpec("member_id_number", ("身份证号",)),
    ColumnSpec("member_name", ("姓名",)),
    ColumnSpec("hospital_name", ("医院名称",)),
    ColumnSpec("hospital_code", ("定点医药机构编码",), required=False),
    ColumnSpec("visit_type", ("就诊类型",)),
    ColumnSpec("admission_date", ("入院日期",)),
    ColumnSpec("discharge_date", ("出院日期",), required=False),
    ColumnSpec("diagnosis_code", ("主要诊断编码",), required=False),
    ColumnSpec("total_cost", ("医疗总费用",)),
    ColumnSpec("fund_paid", ("统筹基金支付",)),
    ColumnSpec("serious_illness_paid", ("大病保险支付",)),
    ColumnSpec("medical_aid_paid", ("医疗救助支付",)),
    ColumnSpec("in_policy_self_pay", ("政策范围内个人自付",)),
    ColumnSpec("out_of_policy_self_pay", ("全自费",)),
    ColumnSpec("settlement_date", ("结算日期",)),
    ColumnSpec("is_reversal", ("是否冲销",), required=False),
    ColumnSpec("reverses", ("原结算流水号", "被冲销流水号"), required=False),
)
AMOUNTS = ("total_cost", "fund_paid", "serious_illness_paid", "medical_aid_paid", "in_policy_self_pay",
           "out_of_policy_self_pay")
INPATIENT = "inpatient"
VISIT_TYPES = {"inpatient": INPATIENT, "住院": INPATIENT, "outpatient": "outpatient", "门诊": "outpatient",
               "chronic": "chronic", "门诊慢特病": "chronic"}
# The store's widths; a settlement number leaves room for the claim_no prefix.
MAX_LENGTH = {"settlement_no": 64 - len(CLAIM_PREFIX), "member_name": 100, "hospital_name": 200,
              "hospital_code": 32, "diagnosis_code": 16}
# ICD-10 (C50, C50.9) and the national clinical edition (C50.900, C50.900x001), upper-cased
DIAGNOSIS = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,12})?$")
_EMPTY = Cell("", "empty")


class SettlementRow(NamedTuple):
    """A checked row; money in integer fen. A tuple: it crosses from the parser process."""

    row: int
    settlement_no: str
    member_id_number: str
    member_name: str
    hospital_name: str
    hospital_code: str | None
    visit_type: str
    admission_date: dt.date
    discharge_date: dt.date
    diagnosis_code: str | None
    total_cost_fen: int
    fund_paid_fen: int
    serious_illness_paid_fen: int
    medical_aid_paid_fen: int
    in_policy_self_pay_fen: int
    out_of_policy_self_pay_fen: int
    settlement_date: dt.date
    is_reversal: bool
    reverses: str | None

    @property
    def inpatient(self) -> bool:
        return self.visit_type == INPATIENT

    @property
    def insurance_paid_fen(self) -> int:
        """What the claim calls insurance_paid: every payer but the member."""
        return self.fund_paid_fen + self.serious_illness_paid_fen + self.medical_aid_paid_fen

    def stored(self) -> tuple:
        """The content a stored row is compared by (its row hash covers these)."""
        return self[2:]


class _NotPlain(Exception):
    """The fast path met something unusual: the reporting path decides."""


_PLAIN_KINDS = frozenset({"text", "empty", "date"})
_YES_NO = {"": False, "N": False, "否": False, "n": False, "Y": True, "是": True, "y": True}




_MAX_TEXT = (MAX_LENGTH["settlement_no"], MAX_LENGTH["member_name"], MAX_LENGTH["hospital_name"],
             MAX_LENGTH["hospital_code"])
_CONTROL = fields.CONTROL_CHARS.search
_PLAIN_AMOUNTS = re.compile(r"[0-9]{1,13}\.[0-9]{2}" + r"\|[0-9]{1,13}\.[0-9]{2}" * 5).fullmatch
_kind = attrgetter("kind")


def _fast(row: int, c: dict[str, Cell]) -> tuple:
    """The common case (a valid CSV row) without per-field bookkeeping; raises on anything
    unusual, and :func:`_reporting` then says what is wrong. Both give the same row (a test
    checks it)."""
    if not _PLAIN_KINDS.issuperset(map(_kind, c.values())) or EXTRA in c:
        raise _NotPlain
    no, name, hospital, code = (c["settlement_no"].text, c["member_name"].text, c["hospital_name"].text,
                                c["hospital_code"].text)
    reverses = c["reverses"].text
    if not no or not name or not hospital or len(no) > _MAX_TEXT[0] or len(name) > _MAX_TEXT[1] \
            or len(hospital) > _MAX_TEXT[2] or len(code) > _MAX_TEXT[3] or len(reverses) > _MAX_TEXT[0] \
            or _CONTROL(f"{no}{name}{hospital}{code}{reverses}"):
        raise _NotPlain
    ident = fields._id(c["member_id_number"].text).value
    visit = VISIT_TYPES[c["visit_type"].text]
    adm = fields._date(c["admission_date"].text)
    dis_text = c["discharge_date"].text
    dis = fields._date(dis_text) if dis_text else (adm if visit != INPATIENT else None)
    settled = fields._date(c["settlement_date"].text)
    diagnosis = c["diagnosis_code"].text.upper() or None
    if dis is None or dis < adm or settled < adm \
            or (diagnosis is not None and (len(diagnosis) > MAX_LENGTH["diagnosis_code"]
                                           or not DIAGNOSIS.match(diagnosis))):
        raise _NotPlain
    amounts = "|".join([c["total_cost"].text, c["fund_paid"].text, c["serious_illness_paid"].text,
                        c["medical_aid_paid"].text, c["in_policy_self_pay"].text, c["out_of_policy_self_pay"].text])
    if _PLAIN_AMOUNTS(amounts) is None:
        raise _NotPlain
    total, fund, serious, aid, base, out = map(int, amounts.replace(".", "").split("|"))
    if total != fund + serious + aid + base + out:
        raise _NotPlain
    reversal = _YES_NO[c["is_reversal"].text]
    if reversal != bool(reverses) or reverses == no:
        raise _NotPlain
    return (row, no, ident, name, hospital, code or None, visit, adm, dis, diagnosis, total, fund, serious, aid,
            base, out, settled, reversal, reverses or None)


def parse_row(row: int, cells: dict[str, Cell], errors: list[RowError]) -> tuple | None:
    """Check one row of the extract; None (and errors appended) if anything is wrong.

    The row comes as a plain tuple in :class:`SettlementRow` order (``SettlementRow._make``
    gives it its names): from the parser process of a big file, a tuple pickles at a third
    of a named tuple's cost.
    """
    try:
        return _fast(row, cells)
    except Exception:  # noqa: BLE001 - any surprise: the reporting path explains it
        return _reporting(row, cells, errors)


def _reporting(row: int, cells: dict[str, Cell], errors: list[RowError]) -> tuple | None:
    before = len(errors)
    values: dict[str, object] = {}

    def take(col: str, fn, *args, **kw) -> object:  # noqa: ANN001
        cell = cells.get(col, _EMPTY)
        try:
            value = fn(cell, *args, **kw)
        except FieldError as e:
            errors.append(RowError.of(row, col, cell.text, e.code, **e.params))
            return None
        values[col] = value
        return value

    take("settlement_no", fields.text, max_length=MAX_LENGTH["settlement_no"])
    ident = take("member_id_number", fields.id_number)
    take("member_name", fields.text, max_length=MAX_LENGTH["member_name"])
    take("hospital_name", fields.text, max_length=MAX_LENGTH["hospital_name"])
    take("hospital_code", fields.text, required=False, max_length=MAX_LENGTH["hospital_code"])
    visit = take("visit_type", fields.choice, VISIT_TYPES, "bad_visit_type")
    adm = take("admission_date", fields.date)
    dis = take("discharge_date", fields.date, required=visit == INPATIENT)
    take("diagnosis_code", _diagnosis)
    amounts = [take(c, fields.amount_fen) for c in AMOUNTS]
    settled = take("settlement_date", fields.date)
    reversal = take("is_reversal", fields.yes_no)
    reverses = take("reverses", fields.text, required=False, max_length=MAX_LENGTH["settlement_no"])
    if cells.get(EXTRA, _EMPTY).text:
        errors.append(RowError.of(row, EXTRA, cells[EXTRA].text, "extra_cells"))
    if adm and dis and dis < adm:  # type: ignore[operator]
        errors.append(RowError.of(row, "discharge_date", cells["discharge_date"].text, "discharge_before_admission"))
    if adm and settled and settled < adm:  # type: ignore[operator]
        errors.append(RowError.of(row, "settlement_date", cells["settlement_date"].text, "settled_before_admission"))
    if None not in amounts and amounts[0] != sum(amounts[1:]):  # type: ignore[arg-type]
        errors.append(RowError.of(row, "total_cost", cells["total_cost"].text, "settlement_costs_dont_add_up",
                                  expected=fields.amount_text(sum(amounts[1:]))))  # type: ignore[arg-type]
    if reversal and not reverses and "is_reversal" in values:
        errors.append(RowError.of(row, "reverses", "", "reverses_required"))
    elif reverses and not reversal and "is_reversal" in values:
        errors.append(RowError.of(row, "reverses", str(reverses), "reverses_without_reversal"))
    elif reverses and reverses == values.get("settlement_no"):
        errors.append(RowError.of(row, "reverses", str(reverses), "reverses_itself"))
    if len(errors) > before:
        return None
    return (row, values["settlement_no"], ident.value, values["member_name"], values["hospital_name"],  # type: ignore
            values["hospital_code"], visit, adm, dis or adm, values["diagnosis_code"], *amounts, settled,
            bool(reversal), reverses)


def _diagnosis(cell: Cell) -> str | None:
    s = fields.text(cell, required=False, max_length=MAX_LENGTH["diagnosis_code"])
    if s is None:
        return None
    s = s.upper()
    if not DIAGNOSIS.match(s):
        raise FieldError("bad_diagnosis_code")
    return s

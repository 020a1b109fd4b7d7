"""Request and response bodies of the JSON API (pydantic v2), separate from the ORM models.

Money is text with two decimals ("7140.00"), as in every file of files.md; dates are
YYYY-MM-DD. ID numbers and bank accounts are masked unless the caller may see them.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mutualaid import i18n
from mutualaid.claims import queries as claim_queries
from mutualaid.claims import status as claim_terms
from mutualaid.enrollments import EnrollmentView
from mutualaid.imports import ImportReport
from mutualaid.ledger import queries as ledger_queries
from mutualaid.money import fmt
from mutualaid.store import paging
from mutualaid.users import Principal

T = TypeVar("T")
MAX_INT = 2**31 - 1


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("NUL characters are not allowed")
    return v


def _in_range(d: dt.date) -> dt.date:
    if not dt.date(2000, 1, 1) <= d <= dt.date(2100, 12, 31):
        raise ValueError("date must be between 2000-01-01 and 2100-12-31")
    return d


def _utc(d: dt.datetime) -> dt.datetime:
    return d.replace(tzinfo=dt.timezone.utc) if d.tzinfo is None else d


Text = Annotated[str, AfterValidator(_no_nul)]
#: a moment; the database keeps naive UTC, the API says so (RFC 3339 with offset)
Instant = Annotated[dt.datetime, AfterValidator(_utc)]
Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["7140.00"])]
MoneyIn = Annotated[str, StringConstraints(pattern=r"^\d{1,3}(,\d{3})*(\.\d{1,2})?$|^\d{1,12}(\.\d{1,2})?$",
                                           max_length=20), Field(examples=["7140.00"])]
Day = Annotated[dt.date, AfterValidator(_in_range)]
Month = Annotated[str, StringConstraints(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"), Field(examples=["2026-03"])]
UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Role = Literal["clerk", "auditor", "finance", "admin"]
Status = Literal[tuple(s.value for s in claim_terms.LISTED)]  # type: ignore[valid-type]
Product = Literal[tuple(p.value for p in claim_terms.PRODUCTS)]  # type: ignore[valid-type]
RuleCode = Annotated[str, StringConstraints(pattern=r"^[RVA]\d{2}$")]
ReconStatus = Literal["MATCHED", "UNPAID", "UNDERPAID", "OVERPAID", "DUPLICATE_PAYMENT", "NOT_APPROVED",
                      "UNKNOWN_CLAIM"]


def money(fen: int | None) -> str | None:
    return None if fen is None else fmt(fen, fen=True)


def meaning(code: str, lang: str = "both") -> str:
    return i18n.ui(f"rule.{code}", lang)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(Out):
    detail: str = Field(description="what went wrong, '中文 / English'")
    code: str | None = Field(None, description="stable message code")


class PageOut(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="matches; a lower bound when `more` is true")
    page: int
    page_size: int
    pages: int
    more: bool = Field(False, description="counting stopped at 10,000: there are more matches than `total`")


def page_of(p: paging.Page[Any], convert: Any) -> dict[str, Any]:
    return {"items": [convert(i) for i in p.items], "total": p.total, "page": p.page,
            "page_size": p.page_size, "pages": p.pages, "more": p.more}


# --- auth and users ------------------------------------------------------------------------

class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: Instant


class UserOut(Out):
    id: int
    username: str
    role: Role
    unit_codes: list[str]
    display_name: str = ""
    active: bool = True

    @classmethod
    def of(cls, p: Principal, active: bool = True) -> "UserOut":
        return cls(id=p.id, username=p.username, role=p.role, unit_codes=list(p.unit_codes),  # type: ignore[arg-type]
                   display_name=p.display_name, active=active)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]
    password: Annotated[Text, StringConstraints(min_length=8, max_length=256)]
    role: Role
    unit_codes: Annotated[list[UnitCode], Field(max_length=100)] = []
    display_name: Annotated[Text, StringConstraints(max_length=100)] = ""


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool


# --- imports ---------------------------------------------------------------------------------

class RowErrorOut(Out):
    row: int
    column: str
    value: str
    code: str
    message: str


class ImportOut(Out):
    kind: Literal["ROSTER", "CLAIMS", "LEDGER"]
    import_id: int | None = Field(description="the batch id for claim batches; None when the file was seen before")
    file_name: str
    fingerprint: str
    rows_total: int
    stored: int
    unchanged: int
    error_rows: int
    errors: list[RowErrorOut]
    warnings: list[str]
    identical_to: int | None = Field(description="id of an earlier import of the very same bytes")
    unit_code: str | None = None
    errors_omitted: int = Field(0, description="row errors past the first 10,000 (counted, not listed)")

    @classmethod
    def of(cls, r: ImportReport, unit_code: str | None = None) -> "ImportOut":
        return cls(kind=r.kind, import_id=r.import_id, file_name=r.file_name, fingerprint=r.fingerprint,  # type: ignore[arg-type]
                   rows_total=r.rows_total, stored=r.stored, unchanged=r.unchanged, error_rows=r.error_rows,
                   errors=[RowErrorOut(row=e.row, column=e.column, value=e.value, code=e.code, message=e.message)
                           for e in r.errors],
                   warnings=list(r.warnings), identical_to=r.identical_to, unit_code=unit_code,
                   errors_omitted=r.errors_omitted)


class BatchOut(Out):
    id: int
    file_name: str
    unit_code: str | None
    imported_by: str
    imported_at: Instant
    rows_total: int
    stored: int
    unchanged: int
    error_rows: int
    claims: int
    by_status: dict[str, int]
    approved_payout: Money

    @classmethod
    def of(cls, b: claim_queries.BatchView) -> "BatchOut":
        return cls(id=b.id, file_name=b.file_name, unit_code=b.unit_code, imported_by=b.imported_by,
                   imported_at=b.imported_at, rows_total=b.rows_total, stored=b.stored, unchanged=b.unchanged,
                   error_rows=b.errors, claims=b.claims, by_status=b.by_status,
                   approved_payout=money(b.approved_payout_fen))  # type: ignore[arg-type]


# --- claims and decisions ------------------------------------------------------------------

class ReasonOut(Out):
    code: str
    meaning: str


class ClaimOut(Out):
    id: int
    claim_no: str
    batch_id: int
    unit_code: str | None
    product: str
    member_id_number: str = Field(description="masked (first 6 and last 4 kept) except for auditors on one claim")
    member_name: str
    event_date: dt.date
    submitted_date: dt.date
    status: str
    payout: Money
    reason_codes: list[str]
    reasons: list[ReasonOut]
    policy_version: str
    decided_on: dt.date | None
    decided_by: str | None
    version: int = Field(description="send it back with a review action (optimistic concurrency)")
    source: Literal["clerk", "settlement"] = Field(
        description="clerk: filed by a unit clerk; settlement: made from the medical-insurance settlement data "
                    "without an application (免申即享)")

    @classmethod
    def of(cls, r: claim_queries.ClaimRow) -> "ClaimOut":
        return cls(id=r.id, claim_no=r.claim_no, batch_id=r.batch_id, unit_code=r.unit_code, product=r.product,
                   member_id_number=r.member_id_number, member_name=r.member_name, event_date=r.event_date,
                   submitted_date=r.submitted_date, status=r.status, payout=money(r.payout_fen),  # type: ignore[arg-type]
                   reason_codes=list(r.reason_codes),
                   reasons=[ReasonOut(code=c, meaning=meaning(c)) for c in r.reason_codes],
                   policy_version=r.policy_version, decided_on=r.decided_on, decided_by=r.decided_by,
                   version=r.version, source=r.source)  # type: ignore[arg-type]


class RuleTraceOut(Out):
    code: str
    meaning: str
    fired: bool
    inputs: dict[str, Any]


class DecisionOut(Out):
    id: int
    kind: str
    status: str
    payout: Money
    computed_payout: Money
    reason_codes: list[str]
    policy_version: str
    decided_on: dt.date
    decided_by: str
    reason: str | None
    created_at: Instant
    rules: list[RuleTraceOut] = Field(description="every rule of the ruleset: fired or not, and its inputs")
    amount: dict[str, Any] | None = Field(description="amount breakdown (bands, allowance, cap / category, units)")
    trace: dict[str, Any] = Field(description="the full stored trace (docs/rules.md, 'Reading a trace')")

    @classmethod
    def of(cls, d: claim_queries.DecisionView) -> "DecisionOut":
        rules = [RuleTraceOut(code=r.get("code", ""), meaning=meaning(r.get("code", "")), fired=bool(r.get("fired")),
                              inputs=r.get("inputs") or {}) for r in d.rules]
        return cls(id=d.id, kind=d.kind, status=d.status, payout=money(d.payout_fen),  # type: ignore[arg-type]
                   computed_payout=money(d.computed_payout_fen), reason_codes=list(d.reason_codes),  # type: ignore[arg-type]
                   policy_version=d.policy_version, decided_on=d.decided_on, decided_by=d.decided_by,
                   reason=d.reason, created_at=d.created_at, rules=rules, amount=d.amount,
                   trace=d.trace)


class AuditOut(Out):
    id: int
    at: Instant
    actor: str
    action: str
    entity: str
    entity_key: str
    details: dict[str, Any]


class ClaimDetailOut(ClaimOut):
    batch_file_name: str
    batch_imported_by: str
    unit_name: str | None
    admission_date: dt.date | None
    discharge_date: dt.date | None
    hospital_name: str | None
    diagnosis_code: str | None
    cause: str | None
    total_cost: Money | None
    insurance_paid: Money | None
    in_policy_self_pay: Money | None
    out_of_policy_self_pay: Money | None
    diagnosis_date: dt.date | None
    pathology_confirmed: bool | None
    surgery: str | None
    enrollment: EnrollmentView | None = Field(
        description="the covering enrollment as the claim page shows it; bank_account masked (last 4 digits) "
                    "except for auditors on one claim")
    decisions: list[DecisionOut] = Field(description="newest first")
    audit: list[AuditOut]

    @classmethod
    def of_detail(cls, c: claim_queries.ClaimDetail) -> "ClaimDetailOut":
        base = ClaimOut.of(c.row).model_dump()
        return cls(**base, batch_file_name=c.batch_file_name, batch_imported_by=c.batch_imported_by,
                   unit_name=c.unit_name, admission_date=c.admission_date, discharge_date=c.discharge_date,
                   hospital_name=c.hospital_name, diagnosis_code=c.diagnosis_code, cause=c.cause,
                   total_cost=money(c.total_cost_fen), insurance_paid=money(c.insurance_paid_fen),
                   in_policy_self_pay=money(c.in_policy_self_pay_fen),
                   out_of_policy_self_pay=money(c.out_of_policy_self_pay_fen), diagnosis_date=c.diagnosis_date,
                   pathology_confirmed=c.pathology_confirmed, surgery=c.surgery,
                   enrollment=c.enrollment,
                   decisions=[DecisionOut.of(d) for d in c.decisions],
                   audit=[AuditOut.model_validate(a) for a in c.audit])


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject", "override"] = Field(
        description="approve (keeps the computed payout), reject, or override (approve with `payout`)")
    reason: Annotated[Text, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
    version: Annotated[int, Field(ge=0, le=MAX_INT, description="the claim's version as read")]
    payout: MoneyIn | None = Field(None, description="required for override")
    as_of: Day | None = Field(None, description="decision date (default: today)")


class ChangeOut(Out):
    claim_no: str
    before_status: str
    before_payout: Money
    after_status: str
    after_payout: Money


class ReviewOut(Out):
    claim_no: str
    status: str
    payout: Money
    readjudicated: list[ChangeOut]
    overrides: list[str] = Field(default_factory=list, description="R codes this approval sets aside")
    limited_to: Money | None = Field(default=None, description="the default amount was cut to this limit")
    replaces_review_by: str | None = Field(default=None, description="an earlier auditor's review this replaces")


# --- jobs ------------------------------------------------------------------------------------

class AdjudicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Day | None = Field(None, description="the decided_on date (default: today)")


class JobOut(Out):
    id: str
    kind: str
    status: Literal["running", "done", "failed"]
    done: int
    total: int | None
    percent: int | None
    started_at: Instant
    finished_at: Instant | None
    params: dict[str, Any]
    result: dict[str, Any]
    error: str | None


# --- reconciliation --------------------------------------------------------------------------

class ReconRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: Month


class ReconRunOut(Out):
    id: int
    month: str
    created_at: Instant
    created_by: str
    inputs_fingerprint: str
    summary: dict[str, Any]
    files: list[str] = Field(description="report files downloadable from this server")


class ReconItemOut(Out):
    id: int
    item_key: str
    claim_no: str | None
    product: str | None
    status: str
    approved_amount: Money
    paid_amount: Money
    difference: Money
    vouchers: list[str]
    days_outstanding: int | None
    note: str | None
    resolved_by: str | None
    resolved_at: Instant | None

    @classmethod
    def of(cls, i: ledger_queries.ReconItemView) -> "ReconItemOut":
        return cls(id=i.id, item_key=i.item_key, claim_no=i.claim_no, product=i.product, status=i.status,
                   approved_amount=money(i.approved_fen), paid_amount=money(i.paid_fen),  # type: ignore[arg-type]
                   difference=money(i.difference_fen), vouchers=list(i.vouchers),  # type: ignore[arg-type]
                   days_outstanding=i.days_outstanding, note=i.note, resolved_by=i.resolved_by,
                   resolved_at=i.resolved_at)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_key: Annotated[Text, StringConstraints(min_length=1, max_length=80)]
    note: Annotated[Text, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


# --- dashboard -------------------------------------------------------------------------------

class StatusFigure(Out):
    count: int
    payout: Money


class DashboardOut(Out):
    month: str
    by_status: dict[str, StatusFigure]
    approved_in_month: Money
    paid_in_month: Money | None = Field(description="finance, auditors and admins only")
    fund_balance: Money | None = Field(description="finance, auditors and admins only")

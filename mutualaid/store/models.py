"""The relational model. Money is integer fen (``*_fen`` columns, BIGINT).

Integer fen rather than NUMERIC because SQLite stores NUMERIC as a float; BIGINT holds
9,999,999,999.99 yuan exactly on both databases and pandas keeps it as int64.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mutualaid.claims.status import ClaimStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def utc_now() -> dt.datetime:
    """Naive UTC, as every timestamp column stores it."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class FileImport(Base):
    """One uploaded file (roster, claim batch or ledger). A claim batch id is its id."""

    __tablename__ = "file_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ROSTER | CLAIMS | LEDGER
    file_name: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the bytes
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # a claim batch belongs to one employer unit (web uploads); empty for CLI imports
    unit_code: Mapped[str | None] = mapped_column(String(32), index=True)


class Unit(Base):
    """An employer unit (基层工会 of a workplace)."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("member_id", "product", "start_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # no further indexes: looked up by member through the unique constraint above; never
    # by unit (a million-row roster pays one B-tree insert per index and row)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    product: Mapped[str] = mapped_column(String(8))
    units: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    premium_fen: Mapped[int] = mapped_column(BigInteger)
    bank_account: Mapped[str | None] = mapped_column(String(19))
    policy_version: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int] = mapped_column(ForeignKey("file_imports.id"))
    row_hash: Mapped[str] = mapped_column(String(32))


class Claim(Base):
    """A claim as filed (columns of files.md) plus its current decision.

    The current decision is denormalised here for queues and reconciliation; every
    decision ever made, with its trace, is in ``decisions``.
    """

    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_member_product", "member_id_number", "product", "event_date"),
        Index("ix_claims_status_id", "status", "id"),  # review queue: by status, oldest first
        Index("ix_claims_status_member", "status", "member_id_number"),  # the batch job's chunks
        Index("ix_claims_decision_seq", "decision_seq"),  # the batch job's next processing number
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_no: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("file_imports.id"), index=True)
    product: Mapped[str] = mapped_column(String(8))
    member_id_number: Mapped[str] = mapped_column(String(18))
    member_name: Mapped[str] = mapped_column(String(100))
    submitted_date: Mapped[dt.date] = mapped_column(Date)
    event_date: Mapped[dt.date] = mapped_column(Date)
    admission_date: Mapped[dt.date | None] = mapped_column(Date)
    discharge_date: Mapped[dt.date | None] = mapped_column(Date)
    hospital_name: Mapped[str | None] = mapped_column(String(200))
    diagnosis_code: Mapped[str | None] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(16))
    total_cost_fen: Mapped[int | None] = mapped_column(BigInteger)
    insurance_paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    in_policy_self_pay_fen: Mapped[int | None] = mapped_column(BigInteger)
    out_of_policy_self_pay_fen: Mapped[int | None] = mapped_column(BigInteger)
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    pathology_confirmed: Mapped[bool | None] = mapped_column()
    surgery: Mapped[str | None] = mapped_column(String(20))
    row_hash: Mapped[str] = mapped_column(String(32))
    # current decision
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.RECEIVED.value)
    payout_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reason_codes: Mapped[str] = mapped_column(String(100), default="")
    policy_version: Mapped[str] = mapped_column(String(16), default="")
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # "engine" or the auditor
    # what later claims of the member need from this one (caps, allowance days, once-only)
    allowance_days: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(20))
    decision_seq: Mapped[int | None] = mapped_column(BigInteger)  # processing order of the first decision
    version: Mapped[int] = mapped_column(Integer, default=0)  # optimistic concurrency
    # clerk: filed in a clerk's batch; settlement: made from the medical-insurance extract
    source: Mapped[str] = mapped_column(String(16), default="clerk", server_default="clerk")


class Decision(Base):
    """Append-only: every decision on a claim, with inputs, rule trace and policy version."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # AUTO | REVIEW | READJUDICATION
    status: Mapped[str] = mapped_column(String(16))
    payout_fen: Mapped[int] = mapped_column(BigInteger)
    computed_payout_fen: Mapped[int] = mapped_column(BigInteger)
    reason_codes: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(16))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    trace: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class AuditEntry(Base):
    """Append-only audit log; each entry carries the hash of the previous one."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LedgerLine(Base):
    """Fund ledger, append-only: a correction is a new line, never an update."""

    __tablename__ = "ledger_lines"
    __table_args__ = (Index("ix_ledger_reference", "reference"), Index("ix_ledger_date", "entry_date"))
    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_no: Mapped[str] = mapped_column(String(64), unique=True)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    entry_type: Mapped[str] = mapped_column(String(20))
    product: Mapped[str | None] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int] = mapped_column(ForeignKey("file_imports.id"))
    row_hash: Mapped[str] = mapped_column(String(32))


class ReconRun(Base):
    __tablename__ = "recon_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))
    inputs_fingerprint: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReconItem(Base):
    __tablename__ = "recon_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("recon_runs.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(80))  # claim_no, or voucher_no for UNKNOWN_CLAIM
    claim_no: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20))
    approved_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    difference_fen: Mapped[int] = mapped_column(BigInteger)
    vouchers: Mapped[str] = mapped_column(Text)
    days_outstanding: Mapped[int | None] = mapped_column(Integer)


class ReconResolution(Base):
    """Finance's note that an item is resolved; keyed by month + item so it survives re-runs."""

    __tablename__ = "recon_resolutions"
    __table_args__ = (UniqueConstraint("month", "item_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    item_key: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)
    resolved_by: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class User(Base):
    """Someone who signs in to the web pages or the API.

    ``role``: clerk | auditor | finance | admin. A clerk files claim batches for the units
    in ``unit_codes`` and sees only their claims. Only an argon2 hash of the password is kept.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))


class AuthToken(Base):
    """A sign-in: a browser session (cookie) or an API bearer token. Only its SHA-256 is kept."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # session | api
    csrf_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class LoginFailure(Base):
    """A wrong password, kept a short while to rate-limit guessing (per user name and address)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "username", "ip", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class BackgroundJob(Base):
    """A long-running job started from the web (adjudication run, reconciliation) and its
    progress, so that any server process can show it; ``updated_at`` is its heartbeat."""

    __tablename__ = "background_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)  # random; the id shown in URLs
    kind: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), index=True)  # running | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
from mutualaid.store import models_payments  # noqa: E402,F401
from mutualaid.store import models_casework  # noqa: E402,F401
from mutualaid.store import models_settlements  # noqa: E402,F401

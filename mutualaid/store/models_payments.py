"""Payment runs (批量代发): from approved claims to members' bank cards and back.

Money is integer fen. ``payment_items.live_claim_id`` is the claim's id while the item can
still pay or has paid (``PENDING`` in a run not cancelled, or ``PAID``) and NULL otherwise;
its unique constraint makes the database itself refuse a second live item for a claim, so
no claim can be in two live runs nor be confirmed twice (NULLs never collide, on SQLite
and PostgreSQL alike).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutualaid.store.models import Base, utc_now


class PaymentRun(Base):
    """One batch payment file: CREATED -> APPROVED -> EXPORTED -> CLOSED, or CANCELLED."""

    __tablename__ = "payment_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    product: Mapped[str | None] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    exported_by: Mapped[str | None] = mapped_column(String(64))
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    template: Mapped[str | None] = mapped_column(String(32))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)  # optimistic concurrency of status changes


class PaymentItem(Base):
    """One claim's payment in a run, and what the bank said about it."""

    __tablename__ = "payment_items"
    __table_args__ = (
        UniqueConstraint("live_claim_id"),
        Index("ix_payment_items_claim_no", "claim_no"),
        Index("ix_payment_items_run_status", "run_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payment_runs.id"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    live_claim_id: Mapped[int | None] = mapped_column(Integer)
    claim_no: Mapped[str] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(8))
    member_id_number: Mapped[str] = mapped_column(String(18))
    member_name: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str | None] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(19))
    account_warning: Mapped[str | None] = mapped_column(String(16))  # "luhn" when the check digit fails
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # PENDING | PAID | FAILED | REFUNDED (paid, then returned by the bank) | DROPPED (claim changed before export)
    status: Mapped[str] = mapped_column(String(10))
    bank_date: Mapped[dt.date | None] = mapped_column(Date)
    bank_txn: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    refund_date: Mapped[dt.date | None] = mapped_column(Date)
    refund_txn: Mapped[str | None] = mapped_column(String(64))
    result_import_id: Mapped[int | None] = mapped_column(ForeignKey("file_imports.id"))


class AccountUpdate(Base):
    """A member's bank account as corrected by finance (audited); newer than the roster's, it wins."""

    __tablename__ = "account_updates"
    __table_args__ = (Index("ix_account_updates_member", "member_id_number", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id_number: Mapped[str] = mapped_column(String(18))
    account: Mapped[str] = mapped_column(String(19))
    reason: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)

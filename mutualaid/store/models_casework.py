"""Casework tables: returns for correction, claim versions, documents, appeals, quality samples.

All append-mostly: a return, an appeal or a sample is a row that is settled once (its
``state`` / ``verdict``), never deleted; a corrected claim keeps each earlier content as a
``claim_versions`` row.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutualaid.casework.terms import AppealState, ReturnState
from mutualaid.store.models import Base, utc_now


class ClaimReturn(Base):
    """An auditor sent a PENDING_REVIEW claim back to the unit (退回补正)."""

    __tablename__ = "claim_returns"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    claim_version: Mapped[int] = mapped_column(Integer)  # content version that was returned (1 = as first filed)
    reason_code: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    returned_by: Mapped[str] = mapped_column(String(64))
    returned_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default=ReturnState.OPEN.value, index=True)  # ReturnState
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class ClaimVersion(Base):
    """The content of a claim before a correction replaced it (the current content is in ``claims``)."""

    __tablename__ = "claim_versions"
    __table_args__ = (UniqueConstraint("claim_id", "version_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int] = mapped_column(ForeignKey("file_imports.id"))
    row_hash: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]] = mapped_column()
    replaced_by_batch: Mapped[int | None] = mapped_column(Integer)
    replaced_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class ClaimDocument(Base):
    """A document attached to a claim; the bytes live in the content-addressed store (sha256)."""

    __tablename__ = "claim_documents"
    __table_args__ = (UniqueConstraint("claim_id", "kind", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class ClaimAppeal(Base):
    """A member's appeal of a rejection, settled by an auditor other than the one who decided."""

    __tablename__ = "claim_appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_on: Mapped[dt.date] = mapped_column(Date)
    appealed_decided_by: Mapped[str] = mapped_column(String(64))  # who made the decision appealed against
    state: Mapped[str] = mapped_column(String(12), default=AppealState.OPEN.value, index=True)  # AppealState
    outcome: Mapped[str | None] = mapped_column(String(16))  # APPROVED | REJECTED
    settled_by: Mapped[str | None] = mapped_column(String(64))
    settled_on: Mapped[dt.date | None] = mapped_column(Date)
    settlement_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)


class QualitySample(Base):
    """An approval drawn for the after-the-fact quality check (事后抽查) and its verdict."""

    __tablename__ = "quality_samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    reason: Mapped[str] = mapped_column(String(12))  # RANDOM | THRESHOLD
    seed: Mapped[int] = mapped_column(BigInteger)
    payout_fen: Mapped[int] = mapped_column(BigInteger)
    sampled_by: Mapped[str] = mapped_column(String(64))
    sampled_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utc_now)
    verdict: Mapped[str | None] = mapped_column(String(12))  # AGREE | DISAGREE
    note: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

"""Medical-insurance settlements (医保结算数据) kept for the federation's own members.

Only rows that matter to a claim are stored: inpatient settlements of members enrolled
in HOSP on the admission date (and the reversals of those). Rows of people who are not
enrolled, and outpatient rows, are counted by the import and not kept (the federation
has no business holding other people's medical data).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mutualaid.store.models import Base


class Settlement(Base):
    """One stored settlement row; ``claim_id`` is the claim it stands for now.

    ``outcome``: ``CLAIMED`` (it created claim ``YB-<settlement_no>``), ``ATTACHED`` (the
    stay was already claimed: it is attached to that claim), ``REVERSAL`` (a row that
    cancels ``reverses``). ``created_claim_id`` is the claim this row created, kept when
    that claim is withdrawn in favour of a clerk's claim (then ``claim_id`` points to the
    clerk's). ``reversed_by``: the settlement_no of the row that cancelled this one.
    """

    __tablename__ = "settlements"
    __table_args__ = (Index("ix_settlements_member_stay", "member_id_number", "admission_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_no: Mapped[str] = mapped_column(String(64), unique=True)
    member_id_number: Mapped[str] = mapped_column(String(18))
    member_name: Mapped[str] = mapped_column(String(100))
    hospital_name: Mapped[str] = mapped_column(String(200))
    hospital_code: Mapped[str | None] = mapped_column(String(32))
    visit_type: Mapped[str] = mapped_column(String(16))
    admission_date: Mapped[dt.date] = mapped_column(Date)
    discharge_date: Mapped[dt.date] = mapped_column(Date)
    diagnosis_code: Mapped[str | None] = mapped_column(String(16))
    total_cost_fen: Mapped[int] = mapped_column(BigInteger)
    fund_paid_fen: Mapped[int] = mapped_column(BigInteger)
    serious_illness_paid_fen: Mapped[int] = mapped_column(BigInteger)
    medical_aid_paid_fen: Mapped[int] = mapped_column(BigInteger)
    in_policy_self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    out_of_policy_self_pay_fen: Mapped[int] = mapped_column(BigInteger)
    settlement_date: Mapped[dt.date] = mapped_column(Date)
    is_reversal: Mapped[bool] = mapped_column(default=False)
    reverses: Mapped[str | None] = mapped_column(String(64))
    reversed_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    created_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("file_imports.id"))
    row_hash: Mapped[str] = mapped_column(String(32))

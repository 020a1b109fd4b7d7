"""The words of this area, spelled once."""
from __future__ import annotations

from enum import StrEnum

from mutualaid.claims.status import WITHDRAWN  # noqa: F401  (a claim status: re-exported for this area)

CLAIM_PREFIX = "YB-"     # claim_no of a claim made from a settlement: YB-<settlement_no>
KIND = "SETTLEMENTS"     # FileImport.kind of an extract (also the batch of the claims it makes)
SETTLEMENT_USER = "settlement"  # decided_by when a settlement puts a decided claim to review


class Source(StrEnum):
    CLERK = "clerk"
    SETTLEMENT = "settlement"


class Outcome(StrEnum):
    """What became of a stored settlement row (``settlements.outcome``)."""

    CLAIMED = "CLAIMED"      # it made claim YB-<settlement_no>
    ATTACHED = "ATTACHED"    # the stay was already claimed: attached to that claim
    REVERSAL = "REVERSAL"    # it cancels the settlement in ``reverses``
    KEPT = "KEPT"            # its version makes no claims (cross-check only): kept for a clerk's claim


class Count(StrEnum):
    """What the import counts (stored or not): the figures printed after an import."""

    CLAIMED = "claimed"              # claims made
    ATTACHED = "attached"            # attached to a claim already filed
    REVERSED = "reversed"            # reversals applied
    WITHDRAWN = "withdrawn"          # undecided claims withdrawn by a reversal
    TO_REVIEW = "to_review"          # decided claims put to review (reversal or V05 cross-check)
    OUTPATIENT = "outpatient"        # outpatient / chronic-disease rows: counted only
    NOT_ENROLLED = "not_enrolled"    # not enrolled in HOSP on the admission date: counted only
    SCHEME_OFF = "scheme_off"        # the covering policy version uses no settlement data


COUNT_ORDER = tuple(Count)

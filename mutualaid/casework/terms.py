"""The words of casework, spelled once: the states of a return and of an appeal, the verdicts
of a quality sample. Members are the stored text (``claim_returns.state``,
``claim_appeals.state``, ``quality_samples.verdict``); users read ``i18n_casework`` words."""
from __future__ import annotations

from enum import StrEnum


class ReturnState(StrEnum):
    """A claim returned to its unit for correction: OPEN -> RESUBMITTED, or CLOSED by R10."""

    OPEN = "OPEN"
    RESUBMITTED = "RESUBMITTED"
    CLOSED = "CLOSED"


class AppealState(StrEnum):
    """A member's appeal against a decision: OPEN -> SETTLED (its outcome is a claim status)."""

    OPEN = "OPEN"
    SETTLED = "SETTLED"


class Verdict(StrEnum):
    """A second reviewer's verdict on a sampled decision."""

    AGREE = "AGREE"
    DISAGREE = "DISAGREE"

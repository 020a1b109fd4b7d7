"""The words of a claim, spelled once: its statuses, its products, its rule codes.

Every other module names a claim status through :class:`ClaimStatus` (a ``StrEnum``: a member
*is* its string, so it compares equal to, hashes like and is stored as the same text as
before — the database values do not change). ``tests/test_terms.py`` fails when a bare
status string appears elsewhere in ``mutualaid/``, ``batch/`` or ``api/``. What users read
goes through the translation table (``status.<STATUS>``, ``product.<PRODUCT>``,
``rule.<CODE>``), never through these names.
"""
from __future__ import annotations

from enum import StrEnum


class _Term(StrEnum):
    """A StrEnum that also *prints* as its string (``repr``): tallies, logs and test messages
    read ``{'APPROVED': 3}`` as they did before the enum."""

    def __repr__(self) -> str:
        return repr(self.value)


class ClaimStatus(_Term):
    """``claims.status``; policy.md §4 and the casework / settlement additions."""

    RECEIVED = "RECEIVED"              # imported, not decided yet
    APPROVED = "APPROVED"              # decided: paid (possibly 0 after caps)
    PENDING_REVIEW = "PENDING_REVIEW"  # decided: a V code, waits for a reviewer
    REJECTED = "REJECTED"              # decided: an R code
    RETURNED = "RETURNED"              # returned to the unit for correction (mutualaid.casework)
    WITHDRAWN = "WITHDRAWN"            # replaced by a clerk's claim, or its settlement was cancelled


RECEIVED, APPROVED, PENDING_REVIEW, REJECTED, RETURNED, WITHDRAWN = ClaimStatus

#: the outcomes of adjudication (policy.md §4), in the order reports list them
DECIDED: tuple[ClaimStatus, ...] = (APPROVED, PENDING_REVIEW, REJECTED)
#: statuses that count against caps, allowance days and once-only benefits of later claims
COUNTING: tuple[ClaimStatus, ...] = (APPROVED, PENDING_REVIEW)
#: statuses without a decision of their own (no trace, not exported as decisions)
UNDECIDED: tuple[ClaimStatus, ...] = (RECEIVED, WITHDRAWN)
#: the order in which lists, filters and the API schema show the statuses
LISTED: tuple[ClaimStatus, ...] = (PENDING_REVIEW, APPROVED, REJECTED, RETURNED, RECEIVED, WITHDRAWN)


class Product(_Term):
    """``claims.product`` / ``enrollments.product``: the two mutual-aid products."""

    HOSP = "HOSP"    # 住院医疗互助
    WOMEN = "WOMEN"  # 女性安康互助


PRODUCTS: tuple[Product, ...] = tuple(Product)


class RuleCode(_Term):
    """The rule codes the code itself names (docs/rules.md); their words are ``rule.<CODE>`` in
    the translation table (a test checks each has them). A policy file may declare further
    codes as data (a draft's V06): those need no member, and their words come from the file."""

    R01 = "R01"  # no member with this ID number
    R02 = "R02"  # not enrolled on the event date
    R03 = "R03"  # waiting period
    R04 = "R04"  # claim deadline
    R05 = "R05"  # excluded cause
    R06 = "R06"  # duplicate
    R07 = "R07"  # sex / age
    R08 = "R08"  # diagnosis not covered
    R09 = "R09"  # benefit exhausted
    R10 = "R10"  # returned and not corrected in time (mutualaid.casework)
    V01 = "V01"  # large payout
    V02 = "V02"  # name differs
    V03 = "V03"  # pathology missing
    V04 = "V04"  # long stay
    V05 = "V05"  # differs from the medical-insurance settlement (mutualaid.settlements)
    A01 = "A01"  # minimum subsidy
    A02 = "A02"  # annual cap
    A03 = "A03"  # allowance days
    A04 = "A04"  # in-situ deducted


_KIND_ORDER = {"R": 0, "V": 1, "A": 2}


def rule_codes() -> tuple[str, ...]:
    """Every rule code of the policy files in force (``rules:`` of each version): R.., V.., A..

    Read from the policy data, not listed by hand, so a rule added to a policy file shows up
    in the filters; its words come from the translation table (``rule.<code>``).
    """
    from mutualaid.policy import policies
    codes = {decl.code for policy in policies().values() for decl in policy.rules}
    return tuple(sorted(codes, key=lambda c: (_KIND_ORDER.get(c[0], 3), c)))

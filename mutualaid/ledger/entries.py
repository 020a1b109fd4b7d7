"""The fund ledger's entry types and their one sign table (files.md, reconciliation.md).

Every place that turns a ledger line into its effect on the fund balance (the import's
checks, the reconciliation, the dashboard's balance) reads the sign here.
"""
from __future__ import annotations

from enum import StrEnum


class EntryType(StrEnum):
    """``ledger_lines.entry_type``: a member *is* the stored text (files.md lists them)."""

    def __repr__(self) -> str:  # prints as the text it was before the enum (reports, tallies)
        return repr(self.value)

    OPENING_BALANCE = "OPENING_BALANCE"
    CONTRIBUTION = "CONTRIBUTION"
    SUBSIDY = "SUBSIDY"
    INTEREST = "INTEREST"
    PAYOUT = "PAYOUT"
    REVERSAL = "REVERSAL"
    FEE = "FEE"
    ADJUSTMENT = "ADJUSTMENT"  # keeps the sign it was written with


ENTRY_TYPES: tuple[str, ...] = tuple(EntryType)
INFLOW: tuple[str, ...] = (EntryType.OPENING_BALANCE, EntryType.CONTRIBUTION, EntryType.SUBSIDY,
                           EntryType.INTEREST, EntryType.REVERSAL)
OUTFLOW: tuple[str, ...] = (EntryType.PAYOUT, EntryType.FEE)
#: +1 adds the written amount to the fund, -1 takes it out
FUND_SIGN: dict[str, int] = {t: (-1 if t in OUTFLOW else 1) for t in ENTRY_TYPES}


def signed(entry_type: str, amount_fen: int) -> int:
    """The line's effect on the fund balance."""
    return FUND_SIGN[entry_type] * amount_fen

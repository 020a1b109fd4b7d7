"""Who may do what: one table of permissions by role (admin may do everything).

Object-level rules live next to the objects: a clerk sees only claims and batches of
their units (the read side, e.g. mutualaid.claims.queries, takes ``units``; mutualaid.claims.service.find_claim for
actions), and nobody decides a claim in a batch they submitted themselves
(mutualaid.claims.review.review, called by the web and the CLI alike).
"""
from __future__ import annotations

from mutualaid.users import Principal

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.read": frozenset({"clerk", "auditor", "finance"}),
    "rosters.import": frozenset({"auditor"}),
    "batches.submit": frozenset({"clerk"}),
    "batches.read": frozenset({"clerk", "auditor"}),
    "adjudication.run": frozenset({"auditor"}),
    "claims.read": frozenset({"clerk", "auditor", "finance"}),
    "claims.review": frozenset({"auditor"}),
    "claims.appeal": frozenset({"clerk"}),  # casework: a clerk appeals a rejection for the member
    "documents.upload": frozenset({"clerk", "auditor"}),
    "decisions.export": frozenset({"clerk", "auditor", "finance"}),
    "audit.read": frozenset({"auditor"}),
    "ledger.import": frozenset({"finance"}),
    "recon.read": frozenset({"finance"}),
    "recon.run": frozenset({"finance"}),
    "recon.resolve": frozenset({"finance"}),
    "jobs.read": frozenset({"auditor", "finance"}),
    "users.manage": frozenset(),
    "settlements.import": frozenset({"auditor"}),  # the mutual-aid office
    "settlements.read": frozenset({"auditor", "finance"}),
    "payments.manage": frozenset({"finance"}),           # payment runs (批量代发), accounts, vouchers
    "payments.failed": frozenset({"clerk", "finance"}),  # failed payments / missing accounts (clerks: their units)
    "office.simulate": frozenset({"finance"}),
    "office.year": frozenset({"finance"}),
}


def can(user: Principal, permission: str) -> bool:
    return user.role == "admin" or user.role in PERMISSIONS[permission]


def reveals_identity(user: Principal) -> bool:
    """Full ID numbers and bank accounts: only on the claim page, only for these roles."""
    return user.role in ("auditor", "admin")


def sees_fund(user: Principal) -> bool:
    return user.role in ("auditor", "finance", "admin")

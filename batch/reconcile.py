"""`mutualaid reconcile` as a batch job: the monthly reconciliation for finance.

A thin job: every rule, query and write is in the reconciliation service,
:mod:`mutualaid.ledger.service` (the CLI, the API, the pages and the distributed job call
the same functions). This module keeps the job's entry point, :func:`run`, and the names
older callers import from here.
"""
from __future__ import annotations

from mutualaid.ledger.service import (  # noqa: F401 - the job's public names
    CLAIM_DTYPES,
    LEDGER_DTYPES,
    NoteRequired,
    ReconcileError,
    RunResult,
    UnknownItem,
    chain_head,
    claims_query,
    digest,
    fingerprint,
    ledger_query,
    load_frames,
    month_days,
    payment_info,
    read_frames,
    resolutions,
    resolve,
    row_hashes,
    run,
    store_run,
    write_files,
)

__all__ = [
    "CLAIM_DTYPES", "LEDGER_DTYPES", "NoteRequired", "ReconcileError", "RunResult", "UnknownItem", "chain_head",
    "claims_query", "digest", "fingerprint", "ledger_query", "load_frames", "month_days", "payment_info",
    "read_frames", "resolutions", "resolve", "row_hashes", "run", "store_run", "write_files",
]

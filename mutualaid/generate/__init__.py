"""Deterministic generator of realistic data sets in the file formats of ``files.md``.

``generate(scale, seed, out_dir)`` writes, into ``out_dir``:

- ``roster_2025.csv``, ``roster_2026.csv`` — one enrollment roster per plan year, both
  products, every unit, sorted by unit code, product and member (:mod:`.rosters`).
- ``claims_YYYY-MM.csv`` — one claim batch per month of ``submitted_date``, in order
  (:mod:`.claims` makes the claims, :mod:`.batches` the messiness and the files).
- ``ledger.csv`` — the fund ledger from the opening balance to the last batch month's end
  (:mod:`.ledger`): it pays what the estimate approves.
- ``settlements_YYYY-MM.csv`` — only with ``settlements=True``: the medical-insurance
  settlement extract (``mutualaid.settlements.generate``); its stays leave the batches.

The estimate (:mod:`.estimate`) is the real adjudication (``adjudicate_members``) run on
the generated claims month by month, as the demo imports and decides them; the figures
(:mod:`.figures`) report its outcomes.

Scales (:mod:`.scales`): ``"tongliao"`` mirrors the reference year 2025: 135,500 HOSP and
54,000 WOMEN members, ~7,700 claims in all the batches, ~7,000 of them approved with
~11 M yuan by the policy (plus ~3 M pending review: payouts of 20,000 or more, name
differences…); ``"region"`` the Inner Mongolia scheme (1.1 M HOSP members, ~45,000 claims
with a 2025 event); an integer is the number of HOSP members (at least 200), scaled like
``tongliao``.

The main year is 2025: all 2025 enrollments are first enrollments (there is no 2024 policy
version), so events are placed after the waiting period except for the deliberate
waiting-period claims. Most members renew into 2026 (participation year 2) and a few
claims have an event in January 2026. Regular claims are submitted by ``SUBMIT_END``
(2026-03-31); the late filings fall one to six weeks after their policy deadline, so the
last batches (2026-04, 2026-05) hold only those.

Unit codes and claim numbers start with ``TL`` (``NM`` at the region scale). Stale
``claims_YYYY-MM.csv`` and ``roster_YYYY.csv`` files in ``out_dir`` are removed first.
Speed: see :mod:`.dataset` (forked workers for the ID numbers and the rosters).
"""
from __future__ import annotations

from mutualaid.generate.dataset import GeneratedSet, generate
from mutualaid.generate.scales import REFERENCE, SCALES, Scale, resolve_scale
from mutualaid.generate.writing import CLAIM_COLUMNS, LEDGER_COLUMNS, ROSTER_COLUMNS

__all__ = [
    "CLAIM_COLUMNS", "LEDGER_COLUMNS", "REFERENCE", "ROSTER_COLUMNS", "SCALES",
    "GeneratedSet", "Scale", "generate", "resolve_scale",
]

"""``generate``: the steps of one generated set, in the order their randomness is drawn.

One seeded generator feeds the world, the claims and the ledger in a fixed order (the
settlement extract has its own), so the same seed writes the same bytes. The slow parts
overlap: the ID numbers are made in forked workers while the claims, the estimate and
the ledger are computed, and the two rosters are written by forked children while the
claim batches and the ledger are written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mutualaid.generate.batches import MESSY, make_claims, number_claims, share_count, write_claims
from mutualaid.generate.estimate import estimate
from mutualaid.generate.figures import figures
from mutualaid.generate.ledger import make_ledger
from mutualaid.generate.people import IdJob, make_world
from mutualaid.generate.processes import Background
from mutualaid.generate.rosters import roster_years, write_roster
from mutualaid.generate.scales import resolve_scale
from mutualaid.generate.writing import LEDGER_COLUMNS, write_csv
from mutualaid.policy import policies


@dataclass
class GeneratedSet:
    out_dir: Path
    rosters: list[Path]
    claim_batches: list[Path]          # claims_YYYY-MM.csv, in month order
    ledger: Path
    figures: dict = field(default_factory=dict)
    settlements: list[Path] = field(default_factory=list)  # settlements_YYYY-MM.csv (generate(settlements=True))


def generate(scale: str | int, seed: int, out_dir: Path, *, settlements: bool = False) -> GeneratedSet:
    """Write rosters, monthly claim batches and the fund ledger; same seed, same bytes.

    The files hold full ID numbers and bank accounts: mode 0600, the folder 0700.
    ``settlements``: also the medical-insurance settlement extract (mutualaid.settlements.generate).
    """
    from mutualaid.private import make_private, private_files

    with private_files():
        result = _generate(scale, seed, Path(out_dir), settlements=settlements)
    make_private(result.out_dir, *result.rosters, *result.claim_batches, result.ledger, *result.settlements)
    return result


def _generate(scale: str | int, seed: int, out_dir: Path, *, settlements: bool = False) -> GeneratedSet:
    from mutualaid.settlements.generate import ExtractPlan, plan_extract, write_extract

    sc = resolve_scale(scale)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*out_dir.glob("claims_????-??.csv"), *out_dir.glob("roster_????.csv")]:
        stale.unlink()  # our own outputs of an earlier run: a stale month must not linger
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20250101]))
    pols = policies()

    n_unknown = share_count(MESSY["unknown_member"], sc.hosp_claims + sc.women_claims)
    id_job = IdJob(sc.hosp_members)
    try:
        world = make_world(rng, sc, pols, n_unknown + 5, id_job)   # ID numbers: being made meanwhile
        claims, messy = make_claims(rng, world, pols, n_unknown)
        number_claims(world, claims)
        extract = plan_extract(seed, world, claims, sc.prefix) if settlements else ExtractPlan()
        estimate(world, claims, extract)   # the real adjudication, month by month
        ledger_columns, flows = make_ledger(rng, world, claims, pols)
        world.id_number = id_job.result()
    finally:
        id_job.cancel()
    # the two big rosters are written by forked children while we write the rest
    years = roster_years(world)
    rosters = [out_dir / f"roster_{y}.csv" for y in years]
    writers = [Background(write_roster, world, y, path) for y, path in zip(years, rosters)]
    try:
        batches = write_claims(world, extract.clerk_claims(claims), out_dir)
        extracts = write_extract(extract, world, out_dir) if settlements else []
        ledger = out_dir / "ledger.csv"
        write_csv(ledger, LEDGER_COLUMNS, ledger_columns)
    finally:
        for writer in writers:
            writer.join()

    result = figures(sc, seed, world, claims, messy, batches, len(ledger_columns["voucher_no"]), flows)
    return GeneratedSet(out_dir, rosters, batches, ledger, result | extract.figures, extracts)

"""Files for the settlement benchmark and fault tests: a roster of N HOSP members and a
settlement extract (3 % their inpatient stays, 20 % outpatient rows, the rest people not
enrolled).

Shared by benchmarks/bench_settlements.py (which measures) and tests/test_settlements_faults.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

ROSTER_HEAD = ["unit_code", "unit_name", "member_id_number", "member_name", "product", "units",
               "start_date", "end_date", "premium_paid", "bank_account"]


def _fen(v: int) -> str:
    return f"{v // 100}.{v % 100:02d}"


def write_files(tmp: Path, rows: int, members: int) -> tuple[Path, Path]:
    from mutualaid import idnumber
    from mutualaid.settlements.generate import HEAD

    rnd = random.Random(17)
    births = [dt.date(1960, 1, 1) + dt.timedelta(days=d) for d in range(0, 14_000, 7)]
    member_ids = [idnumber.make("150502", births[i // 500 % len(births)], i % 500, "MF"[i % 2])
                  for i in range(members)]
    roster = tmp / "roster.csv"
    with open(roster, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(ROSTER_HEAD)
        for i, number in enumerate(member_ids):
            w.writerow([f"NM{i // 500:04d}", f"单位{i // 500:04d}工会", number, "王丽", "HOSP", "1", "2026-01-01",
                        "2026-12-31", "100.00", ""])
    extract = tmp / "settlements.csv"
    regions = ("152301", "152302", "152322", "150102", "150203", "150404", "150721", "150981")
    days = [(dt.date(2026, 2, 1) + dt.timedelta(days=d)) for d in range(300)]
    with open(extract, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEAD)
        for i in range(rows):
            r = rnd.random()
            adm = days[rnd.randrange(len(days))]
            if r < 0.03:
                number, visit, dis = member_ids[rnd.randrange(members)], "住院", adm + dt.timedelta(rnd.randrange(1, 15))
            elif r < 0.23:
                number = member_ids[rnd.randrange(members)] if rnd.random() < 0.2 else \
                    idnumber.make(regions[i % 8], births[i // 500 % len(births)], i % 500, "MF"[i % 2])
                visit, dis = "门诊", adm
            else:
                number = idnumber.make(regions[i % 8], births[i // 500 % len(births)], i % 500, "MF"[i % 2])
                visit, dis = "住院", adm + dt.timedelta(rnd.randrange(1, 15))
            base, fund, out = rnd.randrange(5_000, 1_500_000), rnd.randrange(10_000, 3_000_000), rnd.randrange(0, 200_000)
            serious = fund // 10 if base > 1_000_000 else 0
            w.writerow([f"JS{i:010d}", number, "王丽", "内蒙古自治区人民医院", "H15010200001", visit, adm.isoformat(),
                        dis.isoformat(), "J18.900", _fen(base + fund + serious + out), _fen(fund), _fen(serious),
                        "0.00", _fen(base), _fen(out), dis.isoformat(), "N", ""])
    return roster, extract

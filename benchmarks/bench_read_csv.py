"""Reading speed and memory of mutualaid.tabular on a large claim batch CSV.

    .venv/bin/python benchmarks/bench_read_csv.py [--rows 1000000] [--file PATH] [--keep]

Generates (in a child process, so its memory does not count) a claim batch with the 17
columns of the spec, ~200 bytes a row, then times ``open_table`` (the first pass: sha256 and
encoding check) and iterating ``Table.rows()``, and prints rows/s (wall clock and CPU time),
the resident memory at checkpoints and the peak (``resource.getrusage``). For context it
also times the bare ``csv.reader`` over the same file: the floor of any CSV reader in Python.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COLUMNS = ["claim_no", "product", "member_id_number", "member_name", "submitted_date", "admission_date",
           "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost", "insurance_paid",
           "in_policy_self_pay", "out_of_policy_self_pay", "diagnosis_date", "pathology_confirmed", "surgery"]


def generate(path: str, rows: int) -> None:
    import datetime as dt
    import random

    rng = random.Random(2026)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗欧阳"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
    hospitals = ["内蒙古自治区通辽市第一人民医院住院部", "通辽市科尔沁区中心医院（东院区）住院部",
                 "内蒙古民族大学附属医院第二住院部", "通辽市妇幼保健院（妇产科住院部）",
                 "通辽市蒙医整骨医院住院部", "通辽市第二人民医院肿瘤科住院部"]
    days = [(dt.date(2026, 1, 1) + dt.timedelta(d)).isoformat() for d in range(400)]
    births = [f"{y}{m:02d}{d:02d}" for y in range(1966, 2006) for m in range(1, 13) for d in (1, 9, 17, 25)]
    diagnoses = ["C50", "C50.9", "D07.1", "J18.9", "K35.8", "S72.0", "I21.9"]
    causes = ["illness", "accident", "work_injury", "疾病", "意外"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(COLUMNS) + "\r\n")
        out = []
        for i in range(rows):
            r = rng.getrandbits(32)
            day = r % 360
            name = surnames[r % len(surnames)] + given[(r >> 5) % len(given)] + given[(r >> 10) % len(given)]
            ident = f"150502{births[(r >> 3) % len(births)]}{i % 10000:04d}"
            if r & 0x700:
                tc = 100000 + (r >> 8) % 4900000
                ins, inp = tc * 6 // 10, tc * 3 // 10
                oop = tc - ins - inp
                out.append(f"TL150502-2026-{i % 12 + 1:02d}-{i:08d},HOSP,{ident},{name},{days[day + 30]},{days[day]},{days[day + 6]},"
                           f"{hospitals[r % 6]},{diagnoses[r % 7]},{causes[r % 5]},{tc // 100}.{tc % 100:02d},"
                           f"{ins // 100}.{ins % 100:02d},{inp // 100}.{inp % 100:02d},{oop // 100}.{oop % 100:02d},,,\r\n")
            else:
                out.append(f"TL150502-2026-{i % 12 + 1:02d}-{i:08d},WOMEN,{ident},{name},{days[day + 30]},,,,C50.{r % 10},,,,,,"
                           f"{days[day]},Y,excision\r\n")
            if len(out) == 10000:
                f.write("".join(out))
                out.clear()
        f.write("".join(out))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--file", help="CSV to read (generated when missing)")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(args.generate[0], int(args.generate[1]))
        return

    from mutualaid.claims.intake import COLUMNS as SPECS
    from mutualaid.tabular import open_table

    tmp = None
    path = args.file
    if path is None:
        tmp = tempfile.mkdtemp(prefix="bench_read_csv_")
        path = os.path.join(tmp, "claims.csv")
    if not os.path.exists(path):
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate", path, str(args.rows)], check=True)
        print(f"generated {path} in {time.perf_counter() - t:.1f}s")
    size = os.path.getsize(path)
    print(f"file: {size / 2**20:.0f} MB; memory before reading: rss {rss_mb():.0f} MB, peak {peak_mb():.0f} MB")

    try:
        w0, c0 = time.perf_counter(), time.process_time()
        table = open_table(path, SPECS, max_bytes=max(size + 1, 512 * 2**20))
        w1, c1 = time.perf_counter(), time.process_time()
        print(f"open_table (sha256 + encoding pass): {w1 - w0:.2f}s wall, {c1 - c0:.2f}s cpu, "
              f"{size / 2**20 / (w1 - w0):.0f} MB/s; rows_hint={table.rows_hint}")
        n = 0
        checkpoints = []
        for n, (_row, _cells) in enumerate(table.rows(), start=1):
            if n % 200_000 == 0:
                checkpoints.append(f"{n // 1000}k:{rss_mb():.0f}MB")
        table.close()
        w2, c2 = time.perf_counter(), time.process_time()
        print(f"rows(): {n:,} rows in {w2 - w1:.2f}s wall / {c2 - c1:.2f}s cpu -> "
              f"{n / (w2 - w1):,.0f} rows/s wall, {n / (c2 - c1):,.0f} rows/s cpu")
        print(f"total open+rows: {n / (w2 - w0):,.0f} rows/s wall, {n / (c2 - c0):,.0f} rows/s cpu")
        print(f"rss during rows(): {' '.join(checkpoints) or '-'}; peak rss {peak_mb():.0f} MB")

        w3, c3 = time.perf_counter(), time.process_time()
        with open(path, encoding="utf-8", newline="") as f:
            m = sum(1 for _ in csv.reader(f))
        w4, c4 = time.perf_counter(), time.process_time()
        print(f"baseline bare csv.reader: {m - 1:,} rows, {(m - 1) / (w4 - w3):,.0f} rows/s wall, "
              f"{(m - 1) / (c4 - c3):,.0f} rows/s cpu")
    finally:
        if tmp is not None and not args.keep:
            os.remove(path)
            os.rmdir(tmp)
        elif tmp is not None:
            print(f"kept {path}")


if __name__ == "__main__":
    main()

"""Coverage-guided fuzzing of the file readers through the three imports (atheris / libFuzzer).

The seed files and the oracle are test support code (``tests/support/fuzz_readers.py``, which
``tests/test_fuzz_readers.py`` runs with hypothesis); this script runs atheris for N minutes
per reader and prints what it found. Arguments: see ``--help``.

    .venv/bin/python benchmarks/fuzz_readers.py [--minutes 10] [--readers roster,claims,ledger] [--out DIR]
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.fuzz_readers import READERS, Oracle, seeds  # noqa: E402


# --- atheris ---------------------------------------------------------------------------------------

def _child(reader: str, work: Path, corpus: Path, crashes: Path, seconds: int) -> None:
    """Runs inside the fuzzing process."""
    import atheris

    with atheris.instrument_imports(include=["mutualaid", "openpyxl"]):
        import mutualaid.claims.intake  # noqa: F401
        import mutualaid.enrollments  # noqa: F401
        import mutualaid.fields  # noqa: F401
        import mutualaid.ledger.importer  # noqa: F401
        import mutualaid.tabular  # noqa: F401
        import openpyxl  # noqa: F401
        import openpyxl.reader.excel  # noqa: F401
    from mutualaid.store.db import Database

    db = Database(f"sqlite:///{work / 'fuzz.db'}")
    oracle = Oracle(db)
    csv_path, xlsx_path = work / f"{reader}.csv", work / f"{reader}.xlsx"

    def test_one(data: bytes) -> None:
        path = xlsx_path if data[:2] == b"PK" else csv_path
        path.write_bytes(data)
        oracle.run(reader, path)

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        """Byte mutations; for a workbook mostly inside one of its XML parts, re-zipped (a byte
        flipped in the zip itself only ever meets the CRC check)."""
        if data[:2] == b"PK" and seed % 8:
            try:
                src = zipfile.ZipFile(io.BytesIO(data))
                names = src.namelist()
                xml = [n for n in names if n.endswith(".xml")] or names
                target = xml[seed % len(xml)]
                out = io.BytesIO()
                with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
                    for n in names:
                        part = src.read(n)
                        z.writestr(n, atheris.Mutate(part, max(2 * len(part), 256)) if n == target else part)
                if len(out.getvalue()) <= max_size:
                    return out.getvalue()
            except Exception:  # noqa: BLE001  (not a readable zip: plain byte mutation)
                pass
        return atheris.Mutate(data, max_size)

    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/",
                   "-print_final_stats=1", "-rss_limit_mb=4096", "-timeout=60", "-max_len=32768"], test_one,
                  custom_mutator=mutate)
    atheris.Fuzz()


_STATS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)", re.M)


def fuzz_reader(reader: str, minutes: float, out: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Fuzz one reader for ``minutes``; after a crash, note it and go on with the grown corpus."""
    corpus, crashes, work = out / reader / "corpus", out / reader / "crashes", out / reader / "work"
    for d in (corpus, crashes, work):
        d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds(reader).items():
        (corpus / name).write_bytes(data)
    deadline = time.monotonic() + minutes * 60
    executions, cov, ft, restarts = 0, 0, 0, 0
    crash_kinds: dict[str, str] = {}
    while (left := int(deadline - time.monotonic())) > 5:
        proc = subprocess.run([sys.executable, __file__, "--child", reader, "--work", str(work), "--corpus",
                               str(corpus), "--crashes", str(crashes), "--seconds", str(left)],
                              capture_output=True, text=True, errors="replace")
        log = proc.stdout + proc.stderr
        stats = _STATS.findall(log)
        if stats:
            executions += int(stats[-1][0])
            cov, ft = max(cov, int(stats[-1][1])), max(ft, int(stats[-1][2]))
        if "Uncaught Python exception" in log or "==ERROR" in log or proc.returncode not in (0,):
            tail = [ln for ln in log.splitlines() if ln.strip()]
            what = next((ln for ln in reversed(tail) if re.match(r"^\w*(Error|Exception|Failure)\b", ln)), tail[-1] if tail else "?")
            crash_kinds.setdefault(what[:200], log[-3000:])
            restarts += 1
            say(f"  [{reader}] crash: {what[:200]}")
            if restarts > 20:
                break
    result = {"reader": reader, "minutes": minutes, "executions": executions, "cov": cov, "ft": ft,
              "corpus_files": len(list(corpus.iterdir())), "crashes": len(list(crashes.iterdir())),
              "distinct_crashes": list(crash_kinds), "corpus_outcomes": replay(reader, corpus, out / reader)}
    say(f"[{reader}] {executions:,} executions in {minutes:g} min, cov {cov}, ft {ft}, "
        f"corpus {result['corpus_files']}, crashes {result['crashes']}")
    say(f"[{reader}] the corpus replayed on a fresh database: {result['corpus_outcomes']}")
    return result


def replay(reader: str, corpus: Path, work: Path) -> dict[str, int]:
    """Run every corpus file through the oracle once more (fresh database): how the inputs ended."""
    from collections import Counter

    from mutualaid.store.db import Database

    path = work / "replay.db"
    path.unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    oracle, outcomes = Oracle(db), Counter()
    try:
        for f in sorted(corpus.iterdir()):
            data = f.read_bytes()
            target = work / ("replay.xlsx" if data[:2] == b"PK" else "replay.csv")
            target.write_bytes(data)
            try:
                outcomes[("xlsx " if data[:2] == b"PK" else "csv ") + oracle.run(reader, target)] += 1
            except Exception as exc:  # noqa: BLE001
                outcomes[f"CRASH {type(exc).__name__}"] += 1
    finally:
        db.dispose()
    return dict(sorted(outcomes.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10, help="per reader (default 10)")
    p.add_argument("--readers", default=",".join(READERS))
    p.add_argument("--out", type=Path, help="keep corpus and crashes here (default: a temporary folder)")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--crashes", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        _child(a.child, a.work, a.corpus, a.crashes, a.seconds)
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed (.venv/bin/pip install atheris); tests/test_fuzz_readers.py "
              "fuzzes the same readers with hypothesis", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="mutualaid-fuzz-") as tmp:
        out = a.out or Path(tmp)
        for reader in a.readers.split(","):
            results.append(fuzz_reader(reader, a.minutes, out, say=lambda m: print(m, flush=True)))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if any(r["crashes"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

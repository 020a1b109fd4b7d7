"""Run the fault-injection campaign (SIGKILL during each job, 50 runs per job and database) and report its figures.

The harness itself is test support code, ``tests/support/faults.py`` (the tests use it
with small counts); this script only runs the long campaign. Arguments: see ``--help``.

    .venv/bin/python benchmarks/faults.py --help
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.faults import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""``python -m mutualaid.generate [SCALE] [SEED] [OUT]``: generate and print the figures."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from mutualaid.generate import generate


def main(argv: list[str]) -> None:
    t0 = time.perf_counter()
    arg = argv[0] if argv else "tongliao"
    result = generate(int(arg) if arg.isdigit() else arg, int(argv[1]) if len(argv) > 1 else 1,
                      Path(argv[2] if len(argv) > 2 else "out"))
    for key, value in result.figures.items():
        print(f"{key:30} {value}")
    print(f"{'seconds':30} {time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])

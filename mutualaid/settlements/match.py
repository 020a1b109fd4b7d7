"""When a settlement and a claim are the same stay (pure).

A stay occupies the days ``[admission, max(discharge, admission + 1 day))`` (policy.md,
R06); a settlement and a claim of the same member are the same stay when those days
intersect. Exact dates are the usual case; a clerk's dates a day off still name the same
stay (and the cross-check, V05, sends that claim to review).
"""
from __future__ import annotations

import datetime as dt

_DAY = dt.timedelta(days=1)


def stay_end(admission: dt.date, discharge: dt.date) -> dt.date:
    return max(discharge, admission + _DAY)


def same_stay(adm1: dt.date, dis1: dt.date, adm2: dt.date, dis2: dt.date) -> bool:
    return adm1 < stay_end(adm2, dis2) and adm2 < stay_end(adm1, dis1)


def covering_version(covers: list[tuple[dt.date, dt.date, int]], day: dt.date) -> int | None:
    """The policy version of the enrollment (start, end, version) covering ``day``."""
    for start, end, version in covers:
        if start <= day <= end:
            return version
    return None

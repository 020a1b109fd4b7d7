"""Small builders for adjudication inputs (pure, no database)."""
from __future__ import annotations

import datetime as dt
import itertools

from mutualaid import idnumber
from mutualaid.claims.adjudication import ClaimIn, EnrollmentIn, History, MemberCase, MemberIn, adjudicate_members

D = dt.date.fromisoformat
_ids = itertools.count(1)


def member(sex: str = "F", birth: str = "1985-06-15", name: str = "王丽", seq: int = 1) -> MemberIn:
    number = idnumber.make("150502", D(birth), seq, sex)
    return MemberIn(number, name, D(birth), sex)


def enrollment(product: str, start: str, end: str | None = None, units: int = 1) -> EnrollmentIn:
    s = D(start)
    e = D(end) if end else dt.date(s.year, 12, 31)
    return EnrollmentIn(next(_ids), product, units, s, e, s.year)


def hosp(m: MemberIn, adm: str, dis: str, base: str | int, *, submitted: str | None = None,
         cause: str = "illness", name: str | None = None, claim_no: str | None = None) -> ClaimIn:
    from mutualaid.money import parse_amount, to_fen
    n = next(_ids)
    return ClaimIn(n, claim_no or f"C{n:06d}", "HOSP", m.id_number, name or m.name,
                   D(submitted) if submitted else D(dis) + dt.timedelta(days=5), D(adm),
                   admission_date=D(adm), discharge_date=D(dis), cause=cause,
                   in_policy_self_pay_fen=to_fen(parse_amount(str(base))))


def women(m: MemberIn, code: str, diag: str, *, pathology: bool = True, surgery: str = "none",
          submitted: str | None = None, name: str | None = None, claim_no: str | None = None) -> ClaimIn:
    n = next(_ids)
    return ClaimIn(n, claim_no or f"W{n:06d}", "WOMEN", m.id_number, name or m.name,
                   D(submitted) if submitted else D(diag) + dt.timedelta(days=10), D(diag),
                   diagnosis_code=code, diagnosis_date=D(diag), pathology_confirmed=pathology, surgery=surgery)


def decide(m: MemberIn | None, enrollments: list[EnrollmentIn], claims: list[ClaimIn], history: History | None = None):
    """Outcomes in processing order."""
    number = m.id_number if m else claims[0].member_id_number
    pairs = adjudicate_members([MemberCase(number, m, enrollments, history or History(), list(claims))])
    return [o for _, o in pairs]

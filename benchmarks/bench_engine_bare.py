"""Benchmark: the rules wrapper (mutualaid.rules.engine) against bare durable_rules.

Prints, for one ruleset size (default 16 rules, claim-like, 1-3 of them match each fact):

  (a) bare durable_rules ``host.post``: events into one session, trivial Python action;
  (b) bare durable_rules ``host.assert_fact``: facts into one session, trivial action;
  (c) ``RuleEngine.evaluate`` (every matching rule reported, sessions rotated and deleted);

and the ratio (c)/(a). Target: (c) >= 25,000 facts/s and >= 0.5 x (a).

    .venv/bin/python benchmarks/bench_engine_bare.py [--n N] [--rules R] [--repeat K]
    .venv/bin/python benchmarks/bench_engine_bare.py --soak 5000000   # flat memory?

Other benchmarks print :func:`bare_post_rate` (``cpu=True``: per CPU second) beside their
own figure: ``from benchmarks.bench_engine_bare import bare_post_rate``.
Bare durable_rules is reached through ``mutualaid.rules.engine._durable_modules()`` so
that engine.py stays the only module importing durable_rules.
"""
from __future__ import annotations

import argparse
import itertools
import random
import time

from mutualaid.rules.engine import RuleSpec, _durable_modules, engine

EXCLUDED = ["work_injury", "third_party", "maternity", "cosmetic", "self_harm"]

# (code, condition, fields that trigger it when set so) — shaped like rules/definitions.py.
_TEMPLATES = [
    ("R01", {"member_found": False}, lambda r: {"member_found": False}),
    ("R02", {"$and": [{"member_found": True}, {"enrolled": False}]}, lambda r: {"enrolled": False}),
    ("R03", {"$and": [{"first_enrollment": True}, {"$lt": {"days_from_start": 30}}]},
     lambda r: {"first_enrollment": True, "days_from_start": r.randrange(30)}),
    ("R04", {"$gt": {"days_past_deadline": 0}}, lambda r: {"days_past_deadline": r.randrange(1, 100)}),
    ("R05", {"$or": [{"cause": c} for c in EXCLUDED]}, lambda r: {"cause": r.choice(EXCLUDED)}),
    ("R06", {"$gt": {"duplicates": 0}}, lambda r: {"duplicates": 1}),
    ("R07", {"$or": [{"$neq": {"sex": "F"}}, {"$lt": {"age": 16}}, {"$gt": {"age": 60}}]},
     lambda r: r.choice([{"sex": "M"}, {"age": r.randrange(61, 90)}])),
    ("R08", {"category": "NONE"}, lambda r: {"category": "NONE"}),
    ("R09", {"$lte": {"cap_remaining_fen": 0}}, lambda r: {"cap_remaining_fen": 0}),
    ("V01", {"$gte": {"payout_fen": 2_000_000}}, lambda r: {"payout_fen": r.randrange(2_000_000, 9_000_000)}),
    ("V02", {"name_matches": False}, lambda r: {"name_matches": False}),
    ("V03", {"$and": [{"pathology_confirmed": False},
                      {"$or": [{"category": "INVASIVE"}, {"category": "IN_SITU"}]}]},
     lambda r: {"pathology_confirmed": False, "category": r.choice(["INVASIVE", "IN_SITU"])}),
    ("V04", {"$gt": {"stay_days": 90}}, lambda r: {"stay_days": r.randrange(91, 200)}),
    ("A01", {"$gt": {"minimum_topup_fen": 0}}, lambda r: {"minimum_topup_fen": r.randrange(1, 20_000)}),
    ("A02", {"$gt": {"cap_cut_fen": 0}}, lambda r: {"cap_cut_fen": r.randrange(1, 100_000)}),
    ("A03", {"$gt": {"allowance_days_cut": 0}}, lambda r: {"allowance_days_cut": r.randrange(1, 30)}),
]


def _fields(cond: dict) -> set[str]:
    (key, value), = cond.items()
    if key in ("$and", "$or"):
        return set().union(*map(_fields, value))
    return set(value) if key.startswith("$") else {key}


def make_rules(n_rules: int = 16) -> list[RuleSpec]:
    """``n_rules`` rules: the 16 claim-like ones, then ones that never match (<= 53)."""
    rules = [RuleSpec(code, cond, tuple(sorted(_fields(cond)))) for code, cond, _ in _TEMPLATES[:n_rules]]
    for j in range(max(0, n_rules - len(_TEMPLATES))):
        rules.append(RuleSpec(f"X{j:02d}", {"$gt": {"extra_score": 1000 + j}}, ("extra_score",)))
    return rules


def make_facts(n: int, n_rules: int = 16, seed: int = 20260101) -> list[dict]:
    """Claim-like facts on which 1 to 3 of the first ``n_rules`` rules match (mostly 1-3)."""
    r = random.Random(seed)
    triggers = [t for _, _, t in _TEMPLATES[:n_rules]]
    out = []
    for _ in range(n):
        fact = {
            "member_found": True, "enrolled": True, "first_enrollment": r.random() < 0.5,
            "days_from_start": r.randrange(30, 400), "days_past_deadline": r.randrange(-300, 1),
            "cause": "illness", "duplicates": 0, "sex": "F", "age": r.randrange(16, 61),
            "category": r.choice(["IN_SITU", "BENIGN_ORGAN"]), "pathology_confirmed": True,
            "cap_remaining_fen": r.randrange(1, 50_000_000), "payout_fen": r.randrange(2_000_000),
            "name_matches": True, "stay_days": r.randrange(1, 91), "minimum_topup_fen": 0,
            "cap_cut_fen": 0, "allowance_days_cut": 0, "extra_score": r.randrange(1000),
        }
        if triggers:
            for trigger in r.sample(triggers, min(len(triggers), r.choice([1, 1, 2, 2, 3]))):
                fact.update(trigger(r))
        out.append(fact)
    return out


_names = itertools.count(1)


def _bare_host(n_rules: int, kind: str) -> tuple[object, str, list[int]]:
    """A plain durable_rules Host with a fresh ruleset of ``n_rules`` rules, trivial action."""
    durable, _ = _durable_modules()
    fired = [0]

    def action(c: object) -> None:
        fired[0] += 1

    name = f"bench_bare_{kind}_{n_rules}_{next(_names)}"
    host = durable.Host()
    host.set_rulesets({name: {rule.code: {"all": [{"m": rule.condition}], "run": action}
                              for rule in make_rules(n_rules)}})
    return host, name, fired


def _timed(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``run()``; CPU time is the steadier
    figure on a shared machine."""
    w0, c0 = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - w0, time.process_time() - c0


def _bare_rates(n_rules: int, n: int, kind: str, facts: list[dict] | None) -> tuple[float, float]:
    durable, _ = _durable_modules()
    facts = facts if facts is not None else make_facts(n, n_rules)
    host, name, fired = _bare_host(n_rules, kind)
    send = host.post if kind == "post" else host.assert_fact
    messages = [dict(f, sid="1", id=i) for i, f in enumerate(facts[:n])]

    def run() -> None:
        for m in messages:
            try:
                send(name, m)
            except durable.MessageNotHandledException:
                pass

    wall, cpu = _timed(run)
    host.delete_state(name, "1")  # safe: actions ran in this session (see engine._open_session)
    if not fired[0]:
        raise RuntimeError("no action ran: the benchmark is broken")
    return len(messages) / wall, len(messages) / cpu


def _engine_rates(n_rules: int, n: int, facts: list[dict] | None, batch: int | None) -> tuple[float, float]:
    facts = (facts if facts is not None else make_facts(n, n_rules))[:n]
    name = f"bench_engine_{n_rules}"
    engine().register(name, make_rules(n_rules))
    batch = batch or len(facts)

    def run() -> None:
        for i in range(0, len(facts), batch):
            engine().evaluate(name, facts[i:i + batch])

    wall, cpu = _timed(run)
    return len(facts) / wall, len(facts) / cpu


def bare_post_rate(n_rules: int, n: int, facts: list[dict] | None = None, *, cpu: bool = False) -> float:
    """Events/s of bare durable_rules ``host.post`` into one session, ``n_rules`` rules,
    trivial action (events: each fires only the first matching rule). Wall-clock rate,
    or per CPU second of this process with ``cpu=True``."""
    return _bare_rates(n_rules, n, "post", facts)[cpu]


def bare_assert_rate(n_rules: int, n: int, facts: list[dict] | None = None, *, cpu: bool = False) -> float:
    """Facts/s of bare durable_rules ``host.assert_fact`` into one session (every rule fires)."""
    return _bare_rates(n_rules, n, "assert", facts)[cpu]


def engine_rate(n_rules: int, n: int, facts: list[dict] | None = None, batch: int | None = None,
                *, cpu: bool = False) -> float:
    """Facts/s of ``RuleEngine.evaluate`` (``batch`` facts per call; default all at once)."""
    return _engine_rates(n_rules, n, facts, batch)[cpu]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def soak(total: int, n_rules: int = 16, batch: int = 100_000) -> None:
    """Evaluate ``total`` facts in calls of ``batch``, printing resident memory."""
    facts = make_facts(batch, n_rules)
    name = f"bench_engine_{n_rules}"
    engine().register(name, make_rules(n_rules))
    done, t0 = 0, time.perf_counter()
    print(f"soak: {total:,} facts in calls of {batch:,}; RSS at start {_rss_mb():.1f} MB")
    while done < total:
        engine().evaluate(name, facts)
        done += batch
        if done % (10 * batch) == 0 or done >= total:
            rate = done / (time.perf_counter() - t0)
            print(f"  {done:>12,} facts  RSS {_rss_mb():7.1f} MB  {rate:,.0f} facts/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="facts per measurement")
    ap.add_argument("--bare-n", type=int, default=30_000, help="facts for the (slow) bare figures")
    ap.add_argument("--rules", type=int, default=16, help="rules in the ruleset (<= 53)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--soak", type=int, default=0, help="instead: evaluate this many facts, print RSS")
    args = ap.parse_args()
    if args.soak:
        soak(args.soak, args.rules)
        return
    facts = make_facts(args.n, args.rules)
    name = f"bench_engine_{args.rules}"
    engine().register(name, make_rules(args.rules))
    fired = engine().evaluate(name, facts)
    per_fact = sum(map(len, fired)) / len(fired)
    spread = {k: sum(1 for s in fired if len(s) == k) for k in range(max(map(len, fired)) + 1)}
    print(f"{args.n:,} facts, {args.rules} rules, {per_fact:.2f} matching rules per fact "
          f"(facts by number of matches: {spread}); best of {args.repeat}")

    def best(measure, *a) -> tuple[float, float]:
        runs = [measure(*a) for _ in range(args.repeat)]
        return max(w for w, _ in runs), max(c for _, c in runs)

    bare_n = min(args.n, args.bare_n)
    figures = [
        ("(a) bare durable_rules host.post (events, 1 session)", best(_bare_rates, args.rules, bare_n, "post", facts)),
        ("(b) bare durable_rules host.assert_fact (1 session)", best(_bare_rates, args.rules, bare_n, "assert", facts)),
        ("(c) RuleEngine.evaluate (all facts in one call)", best(_engine_rates, args.rules, args.n, facts, None)),
        ("    RuleEngine.evaluate (calls of 100 facts)", best(_engine_rates, args.rules, args.n, facts, 100)),
    ]
    print(f"{'per second (bare: first ' + format(bare_n, ',') + ' facts)':<56}{'wall':>10}{'cpu':>10}")
    for label, (wall, cpu) in figures:
        print(f"{label:<56}{wall:>10,.0f}{cpu:>10,.0f}")
    (_, post), (_, asserted), (_, wrapped), _ = figures
    for k, clock in enumerate(("wall", "cpu")):
        print(f"{clock}: (c)/(a) = {wrapped[k] / post[k]:.2f}   (c)/(b) = {wrapped[k] / asserted[k]:.2f}")
    print("target: (c) >= 25,000 facts/s and (c)/(a) >= 0.5")


if __name__ == "__main__":
    main()

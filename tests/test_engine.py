"""mutualaid.rules.engine: the durable_rules wrapper (no database needed).

Each pitfall of durable_rules 2.0.28 (shared/notes/durable_rules.md) has a test here;
results are checked against a small Python interpreter of the condition language.
"""
from __future__ import annotations

import copy
import itertools
import operator
import random
import re
import subprocess
import sys
import threading
from decimal import Decimal

import pytest

from mutualaid.rules import engine as engine_module
from mutualaid.rules.engine import CHUNK, EngineError, RuleEngine, RuleSpec, engine

_names = itertools.count(1)


def fresh(prefix: str = "t") -> str:
    """Ruleset names are process-global and permanent: every test uses new ones."""
    return f"test_engine_{prefix}_{next(_names)}"


# ------------------------------------------------------------------ reference semantics
_OPS = {"$eq": operator.eq, "$neq": operator.ne, "$lt": operator.lt, "$lte": operator.le,
        "$gt": operator.gt, "$gte": operator.ge}


def ref_match(cond: dict, fact: dict) -> bool:
    (key, value), = cond.items()
    if key == "$and":
        return all(ref_match(c, fact) for c in value)
    if key == "$or":
        return any(ref_match(c, fact) for c in value)
    if key in _OPS:
        (field, literal), = value.items()
    else:
        field, literal, key = key, value, "$eq"
    x = fact.get(field)
    return x is not None and _OPS[key](x, literal)  # missing / None never matches


def ref_evaluate(rules: list[RuleSpec], facts: list[dict]) -> list[frozenset[str]]:
    return [frozenset(r.code for r in rules if ref_match(r.condition, f)) for f in facts]


# A ruleset over ints, strings and bools using every operator.
RULES = [
    RuleSpec("LT", {"$lt": {"n": 10}}, ("n",)),
    RuleSpec("LTE", {"$lte": {"n": 10}}, ("n",)),
    RuleSpec("GT", {"$gt": {"n": 10}}, ("n",)),
    RuleSpec("GTE", {"$gte": {"n": 10}}, ("n",)),
    RuleSpec("EQ", {"$eq": {"n": 10}}, ("n",)),
    RuleSpec("NEQ", {"$neq": {"n": 10}}, ("n",)),
    RuleSpec("SEQ", {"s": "ab"}, ("s",)),
    RuleSpec("SNEQ", {"$neq": {"s": "ab"}}, ("s",)),
    RuleSpec("SLT", {"$lt": {"s": "ab"}}, ("s",)),
    RuleSpec("SGTE", {"$gte": {"s": "ab"}}, ("s",)),
    RuleSpec("DATE", {"$lt": {"d": "2026-03-01"}}, ("d",)),
    RuleSpec("BT", {"b": True}, ("b",)),
    RuleSpec("BF", {"b": False}, ("b",)),
    RuleSpec("BNEQ", {"$neq": {"b": True}}, ("b",)),
    RuleSpec("AND", {"$and": [{"b": True}, {"$gte": {"n": 5}}, {"$lt": {"n": 20}}]}, ("b", "n")),
    RuleSpec("OR", {"$or": [{"s": "zz"}, {"$gt": {"n": 100}}, {"b": False}]}, ("s", "n", "b")),
    RuleSpec("NEST", {"$or": [{"$and": [{"s": "a"}, {"$lt": {"n": 0}}]},
                              {"$and": [{"$neq": {"s": "a"}}, {"$gt": {"x": 0.5}}]}]}, ("s", "n", "x")),
]


def random_fact(r: random.Random) -> dict:
    fact = {
        "n": r.choice([-5, 0, 5, 9, 10, 11, 20, 100, 101, 10**12, None, "absent"]),
        "s": r.choice(["", "a", "ab", "abc", "b", "zz", "AB", None, "absent"]),
        "d": r.choice(["2026-02-28", "2026-03-01", "2026-12-31", "2025-12-31", None, "absent"]),
        "b": r.choice([True, False, None, "absent"]),
        "x": r.choice([0.25, 0.5, 0.75, 1, 0, None, "absent"]),
        "unused": r.choice(["anything", 3, None, [1, 2]]),  # fields no rule reads are ignored
    }
    return {k: v for k, v in fact.items() if v != "absent"}


@pytest.fixture(scope="module")
def ops_ruleset() -> str:
    name = fresh("ops")
    engine().register(name, RULES)
    return name


# ------------------------------------------------------------------ semantics
def test_engine_is_a_per_process_singleton():
    assert engine() is engine()


@pytest.mark.parametrize("fact, expected", [
    ({"n": 9}, {"LT", "LTE", "NEQ"}),
    ({"n": 10}, {"LTE", "GTE", "EQ"}),
    ({"n": 11}, {"GT", "GTE", "NEQ"}),
    ({"s": "ab"}, {"SEQ", "SGTE"}),
    ({"s": "a"}, {"SNEQ", "SLT"}),      # "a" < "ab": prefix orders first
    ({"s": "abc"}, {"SNEQ", "SGTE"}),
    ({"s": "AB"}, {"SNEQ", "SLT"}),     # byte order: upper case first
    ({"d": "2026-02-28"}, {"DATE"}),    # ISO dates order as strings
    ({"d": "2026-03-01"}, set()),
    ({"b": True}, {"BT"}),
    ({"b": False}, {"BF", "BNEQ", "OR"}),
    ({"b": True, "n": 5}, {"BT", "AND", "LT", "LTE", "NEQ"}),
    ({"b": True, "n": 20}, {"BT", "GT", "GTE", "NEQ"}),
    ({"s": "zz", "n": 101}, {"SNEQ", "SGTE", "OR", "GT", "GTE", "NEQ"}),
    ({"s": "a", "n": -5}, {"SNEQ", "SLT", "NEST", "LT", "LTE", "NEQ"}),
    ({"s": "b", "x": 0.75}, {"SNEQ", "SGTE", "NEST"}),
    ({"s": "b", "x": 0.5}, {"SNEQ", "SGTE"}),
    ({"n": 10**12}, {"GT", "GTE", "NEQ", "OR"}),
])
def test_operators_on_ints_strings_and_bools(ops_ruleset, fact, expected):
    assert engine().evaluate(ops_ruleset, [fact]) == [frozenset(expected)]


def test_every_matching_rule_is_reported_not_only_the_first(ops_ruleset):
    [codes] = engine().evaluate(ops_ruleset, [{"n": 10, "s": "ab", "b": True}])
    assert codes == {"LTE", "GTE", "EQ", "SEQ", "SGTE", "BT", "AND"}


@pytest.mark.parametrize("fact", [{}, {"n": None, "s": None, "d": None, "b": None, "x": None},
                                  {"unused": 1}])
def test_missing_or_none_fields_match_nothing_not_even_neq(ops_ruleset, fact):
    assert engine().evaluate(ops_ruleset, [fact]) == [frozenset()]


def test_none_in_one_branch_of_or_leaves_the_other_branch(ops_ruleset):
    # OR = s == "zz" or n > 100 or b is False; NEST needs s and (n or x)
    assert engine().evaluate(ops_ruleset, [{"s": None, "n": None, "b": False}]) == [
        frozenset({"BF", "BNEQ", "OR"})]


def test_a_fact_matching_no_rule_gets_an_empty_set(ops_ruleset):
    facts = [{"d": "2030-01-01"}, {"n": 10}, {"d": "2030-01-01"}]
    assert engine().evaluate(ops_ruleset, facts) == [
        frozenset(), frozenset({"LTE", "GTE", "EQ"}), frozenset()]


def test_results_equal_the_reference_on_random_facts(ops_ruleset):
    r = random.Random(1)
    facts = [random_fact(r) for _ in range(3_000)]
    assert engine().evaluate(ops_ruleset, facts) == ref_evaluate(RULES, facts)


def test_empty_input_and_results_in_input_order(ops_ruleset):
    assert engine().evaluate(ops_ruleset, []) == []
    facts = [{"n": n} for n in range(CHUNK * 2 + 7)]  # several sessions
    assert engine().evaluate(ops_ruleset, facts) == ref_evaluate(RULES, facts)


def test_non_ascii_quotes_and_escapes_in_strings():
    name = fresh("text")
    rules = [RuleSpec("NAME", {"name": "张三"}, ("name",)),
             RuleSpec("QUOTE", {"q": 'a"b\\c\n'}, ("q",))]
    engine().register(name, rules)
    facts = [{"name": "张三"}, {"name": "张三 "}, {"q": 'a"b\\c\n'}, {"q": 'a"b\\c'}]
    assert engine().evaluate(name, facts) == [
        frozenset({"NAME"}), frozenset(), frozenset({"QUOTE"}), frozenset()]


def test_empty_or_never_matches_and_empty_and_always_does():
    # e.g. a policy version with no excluded causes: {"$or": []} must still register
    name = fresh("empty")
    rules = [RuleSpec("NEVER", {"$or": []}, ()),
             RuleSpec("ALWAYS", {"$and": []}, ()),
             RuleSpec("X", {"$and": [{"$or": []}, {"n": 1}]}, ("n",)),
             RuleSpec("Y", {"$or": [{"$or": []}, {"n": 1}]}, ("n",))]
    engine().register(name, rules)
    assert engine().evaluate(name, [{"n": 1}, {"n": 2}, {}]) == [
        frozenset({"ALWAYS", "Y"}), frozenset({"ALWAYS"}), frozenset({"ALWAYS"})]
    only_trivial = fresh("trivial")
    engine().register(only_trivial, rules[:2])
    assert engine().evaluate(only_trivial, [{}, {"n": 1}]) == [frozenset({"ALWAYS"})] * 2


def test_evaluate_returns_complete_results_synchronously_without_threads(ops_ruleset):
    """Note 6: post_batch returns before its actions ran. evaluate uses neither post_batch
    nor the Host's background dispatch threads: all results are there on return."""
    before = threading.active_count()
    eng = RuleEngine()
    name = fresh("sync")
    eng.register(name, RULES)
    facts = [{"n": n, "b": n % 2 == 0} for n in range(2_500)]
    assert eng.evaluate(name, facts) == ref_evaluate(RULES, facts)
    assert threading.active_count() == before
    assert not hasattr(eng._host, "_d_timer") and not hasattr(eng._host, "_t_timer")


# ------------------------------------------------------------------ sessions and volume
def test_100_000_facts_through_one_ruleset():
    name = fresh("volume")
    rules = RULES
    engine().register(name, rules)
    r = random.Random(7)
    sample = [random_fact(r) for _ in range(1_000)]
    facts = [sample[i % 1_000] for i in range(100_000)]
    got = engine().evaluate(name, facts)
    assert len(got) == 100_000
    expected = ref_evaluate(rules, sample)
    assert all(got[i] == expected[i % 1_000] for i in range(100_000))


def test_sessions_are_deleted_so_the_1024_session_limit_is_never_reached():
    """Note 1: the 1,025th live session raises MemoryError. Every call uses at least one
    new session; 1,500 calls succeed only if each session was deleted."""
    eng = RuleEngine()
    name = fresh("sessions")
    eng.register(name, RULES)
    for i in range(1_500):
        assert eng.evaluate(name, [{"n": i}]) == ref_evaluate(RULES, [{"n": i}])


def test_sessions_are_deleted_when_evaluation_fails():
    eng = RuleEngine()
    name = fresh("fail_sessions")
    eng.register(name, RULES)
    bad = [{"n": 1}, {"n": 2}, {"n": "3"}]  # the session exists when fact 2 is refused
    for _ in range(1_500):
        with pytest.raises(EngineError, match="field 'n'"):
            eng.evaluate(name, bad)
    assert eng.evaluate(name, [{"n": 1}]) == [frozenset({"LT", "LTE", "NEQ"})]


# ------------------------------------------------------------------ duplicate-id refusals
def fnv1a_32(text: str) -> int:
    """durable_rules' message-id hash (state.c fnv1Hash32: xor, then multiply)."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def test_fact_ids_within_a_session_have_distinct_hashes():
    """So refusals cannot happen among the facts of one session (only, once in ~10^7
    sessions, against durable_rules' own "sid-<sid>" state fact); they are still handled."""
    ids = RuleEngine()._ids + [engine_module._SESSION_FACT_ID]
    assert len(ids) == CHUNK + 1 and len({fnv1a_32(i) for i in ids}) == CHUNK + 1


def test_two_ids_with_the_same_32_bit_hash_really_collide_and_are_retried(monkeypatch):
    """Note 2, with a real collision: 1562789 and 1779192 have the same FNV-1a hash, so
    durable_rules refuses the second fact as already observed (MessageObservedException).
    The wrapper evaluates it again in a fresh session: nothing dropped, nothing wrong."""
    assert fnv1a_32("1562789") == fnv1a_32("1779192")
    eng = RuleEngine()
    name = fresh("collide")
    eng.register(name, RULES)
    eng._ids = ["1562789", "1779192"] + eng._ids[2:]
    retried = []
    real_retry = eng._retry
    monkeypatch.setattr(eng, "_retry", lambda rs, facts, j, out: (retried.append(j), real_retry(rs, facts, j, out)))
    facts = [{"n": 5}, {"n": 50, "b": True}, {"n": 10}]
    assert eng.evaluate(name, facts) == ref_evaluate(RULES, facts)
    assert retried == [1]


def test_the_same_id_posted_twice_is_retried_for_every_fact(monkeypatch):
    eng = RuleEngine()
    name = fresh("same_id")
    eng.register(name, RULES)
    eng._ids = ["7"] * CHUNK  # every fact of a session gets the same id
    r = random.Random(3)
    facts = [random_fact(r) for _ in range(300)]
    retried = []
    real_retry = eng._retry
    monkeypatch.setattr(eng, "_retry", lambda rs, f, j, out: (retried.append(j), real_retry(rs, f, j, out)))
    assert eng.evaluate(name, facts) == ref_evaluate(RULES, facts)
    # every matching fact after the first one was refused once and evaluated again
    matching = [j for j, codes in enumerate(ref_evaluate(RULES, facts)) if codes]
    assert retried == matching[1:]


def test_a_fact_refused_again_and_again_raises_instead_of_being_dropped(monkeypatch):
    eng = RuleEngine()
    name = fresh("refused")
    eng.register(name, RULES)
    real = engine_module._dre.assert_fact

    def always_observed(handle, message):
        result, state = real(handle, message)
        if '"_session"' in message:  # the wrapper's own first fact of each session
            return result, state
        return (2 if result == 0 else result), state

    monkeypatch.setattr(engine_module._dre, "assert_fact", always_observed)
    with pytest.raises(EngineError, match="duplicate"):
        eng.evaluate(name, [{"n": 1}])
    monkeypatch.undo()
    assert eng.evaluate(name, [{"n": 1}]) == [frozenset({"LT", "LTE", "NEQ"})]


# ------------------------------------------------------------------ failures are loud
def test_durable_rules_swallows_exceptions_in_its_own_actions():
    """Note 5, the reason the wrapper drains actions itself: a Host action that raises
    leaves post() returning normally and the traceback in the session state."""
    durable, _ = engine_module._durable_modules()
    host = engine_module._SyncHost()
    name = fresh("swallow")

    def boom(c):
        raise ValueError("boom")

    host.set_rulesets({name: {"R": {"all": [{"m": {"n": 1}}], "run": boom}}})
    host.assert_fact(name, {"sid": "1", "id": 1, "n": 1})  # no exception here
    assert "boom" in host.get_state(name, "1")["exception"]
    host.delete_state(name, "1")


def test_an_error_while_collecting_actions_raises_engine_error(monkeypatch):
    eng = RuleEngine()
    name = fresh("action_error")
    eng.register(name, RULES)
    real = engine_module._dre.complete_and_start_action
    calls = itertools.count()

    def fails_on_fifth(handle, state):
        if next(calls) == 4:
            raise RuntimeError("action failed")
        return real(handle, state)

    monkeypatch.setattr(engine_module._dre, "complete_and_start_action", fails_on_fifth)
    with pytest.raises(EngineError, match="action failed"):
        eng.evaluate(name, [{"n": n} for n in range(20)])
    monkeypatch.undo()
    facts = [{"n": n} for n in range(20)]
    assert eng.evaluate(name, facts) == ref_evaluate(RULES, facts)  # session was cleaned up


def test_lost_actions_are_detected_not_returned_as_empty_sets(monkeypatch):
    eng = RuleEngine()
    name = fresh("lost")
    eng.register(name, [RuleSpec("ONE", {"n": 1}, ("n",))])
    monkeypatch.setattr(engine_module._dre, "complete_and_start_action", lambda handle, state: None)
    with pytest.raises(EngineError, match="fired no rule"):
        eng.evaluate(name, [{"n": 1}, {"n": 1}, {"n": 2}])


def test_an_unexpected_action_message_raises(monkeypatch):
    eng = RuleEngine()
    name = fresh("message")
    eng.register(name, RULES)
    monkeypatch.setattr(engine_module, "_ACTION_RE", re.compile("(?!)"))  # matches nothing
    with pytest.raises(EngineError, match="unexpected durable_rules action message"):
        eng.evaluate(name, [{"n": 1}])
    monkeypatch.undo()
    assert eng.evaluate(name, [{"n": 1}]) == [frozenset({"LT", "LTE", "NEQ"})]


_DIRTY_HEAP_SCRIPT = """
import sys
junk = [bytearray(b"\\xff") * int(sys.argv[1]) for _ in range(16)]  # freed memory full of 0xff
del junk
from mutualaid.rules.engine import RuleEngine, RuleSpec
eng = RuleEngine()
eng.register("crash", [RuleSpec("R01", {"member_found": False}, ("member_found",))])
for _ in range(3):
    assert eng.evaluate("crash", [{"member_found": True}]) == [frozenset()]
print("survived")
"""


@pytest.mark.parametrize("junk", [20_000, 50_000])
def test_deleting_a_session_in_which_no_rule_fired_does_not_crash(junk):
    """Found while writing the wrapper: durable_rules' deleteStateNode frees two pointers
    that createStateNode never initialised (set only when an action starts). Deleting a
    session where no rule fired then segfaults whenever the heap held garbage; on this
    machine 16 freed 10-70 kB buffers of 0xff before the ruleset is created are enough.
    The wrapper starts every session with a fact that fires an internal rule."""
    done = subprocess.run([sys.executable, "-c", _DIRTY_HEAP_SCRIPT, str(junk)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "survived"), done.stderr[-2000:]


@pytest.mark.parametrize("fact, message", [
    ({"n": True}, "field 'n'"),            # durable_rules would compare True as 1
    ({"n": "5"}, "field 'n'"),
    ({"n": Decimal("5")}, "field 'n'"),     # money is integer fen, never Decimal
    ({"n": float("nan")}, "not finite"),
    ({"b": "true"}, "field 'b'"),          # durable_rules would match "true" to true
    ({"b": 1}, "field 'b'"),
    ({"s": 5}, "field 's'"),
])
def test_fact_values_of_the_wrong_kind_are_refused(ops_ruleset, fact, message):
    with pytest.raises(EngineError, match=message):
        engine().evaluate(ops_ruleset, [{"n": 1}, fact])


def test_a_fact_must_be_a_dict(ops_ruleset):
    with pytest.raises(EngineError, match="must be a dict"):
        engine().evaluate(ops_ruleset, [{"n": 1}, ["n", 1]])


def test_unregistered_ruleset():
    with pytest.raises(EngineError, match="not registered"):
        engine().evaluate("never_registered_2099", [{}])


# ------------------------------------------------------------------ registration
def test_registering_the_same_name_again_identical_is_a_no_op_different_raises(ops_ruleset):
    engine().register(ops_ruleset, RULES)
    engine().register(ops_ruleset, list(reversed(copy.deepcopy(RULES))))  # same definition
    changed = [RuleSpec("LT", {"$lt": {"n": 11}}, ("n",))] + RULES[1:]
    with pytest.raises(EngineError, match="already registered"):
        engine().register(ops_ruleset, changed)
    with pytest.raises(EngineError, match="already registered"):
        engine().register(ops_ruleset, RULES[:-1])
    assert engine().evaluate(ops_ruleset, [{"n": 10}]) == [frozenset({"LTE", "GTE", "EQ"})]


def test_registration_does_not_mutate_the_rules_and_passes_durable_a_copy(monkeypatch):
    """Note 9: Host.set_rulesets mutates the dict it gets (removes "run")."""
    eng = RuleEngine()
    snapshot = copy.deepcopy(RULES)
    passed = []
    real = engine_module._SyncHost.set_rulesets
    monkeypatch.setattr(engine_module._SyncHost, "set_rulesets",
                        lambda host, d: (passed.append(d), real(host, d))[1])
    name = fresh("mutate")
    eng.register(name, RULES)
    assert RULES == snapshot
    assert all("run" not in rule for rule in passed[0][name].values())  # durable mutated its copy
    eng.register(name, RULES)  # and the definition we compare against is intact
    assert len(passed) == 1


@pytest.mark.parametrize("rules, message", [
    ([], "no rules"),
    ([RuleSpec("A", {"n": 1}, ("n",)), RuleSpec("A", {"n": 2}, ("n",))], "repeated rule code"),
    ([RuleSpec("bad code", {"n": 1}, ("n",))], "rule code"),
    ([RuleSpec("A", {"n": 1}, ())], "omit"),
    ([RuleSpec("A", {"$and": [{"n": 1}, {"m": 2}]}, ("n",))], "omit"),
    ([RuleSpec("A", {"n": 1, "m": 2}, ("n", "m"))], "exactly one key"),
    ([RuleSpec("A", {"$gt": {"a": {"$m": "b"}}}, ("a", "b"))], "literal"),  # no field references
    ([RuleSpec("A", {"$ex": {"n": 1}}, ("n",))], "not supported"),
    ([RuleSpec("A", {"$lt": {"b": True}}, ("b",))], "bool"),
    ([RuleSpec("A", {"n": None}, ("n",))], "literal"),
    ([RuleSpec("A", {"n": 1}, ("n",)), RuleSpec("B", {"n": "1"}, ("n",))], "compared with"),
    ([RuleSpec("A", {"id": 1}, ("id",))], "field name"),
    ([RuleSpec("A", {"sid": "x"}, ("sid",))], "field name"),
    ([RuleSpec("A", {"_session": True}, ("_session",))], "field name"),
    ([RuleSpec("A", {"$or": [{f"f{i}": i} for i in range(65)]}, tuple(f"f{i}" for i in range(65)))],
     "leaf comparisons"),
    ([RuleSpec("A", {"$and": [{"$or": [{"a": i} for i in range(9)]}, {"$or": [{"b": i} for i in range(8)]}]},
               ("a", "b"))], "leaf comparisons"),
    (["not a RuleSpec"], "not a RuleSpec"),
])
def test_invalid_rulesets_are_refused(rules, message):
    with pytest.raises(EngineError, match=message):
        RuleEngine().register(fresh("invalid"), rules)


@pytest.mark.parametrize("name", ["", "hosp 2026", "x$state", "2026_hosp", None])
def test_invalid_ruleset_names_are_refused(name):
    with pytest.raises(EngineError, match="invalid ruleset name"):
        RuleEngine().register(name, RULES)


def test_inputs_may_name_more_fields_than_the_condition_reads():
    name = fresh("inputs")
    engine().register(name, [RuleSpec("R08", {"category": "NONE"}, ("category", "diagnosis_code", "surgery"))])
    assert engine().evaluate(name, [{"category": "NONE", "surgery": "none"}]) == [frozenset({"R08"})]


# ------------------------------------------------------------------ threads
def test_threads_sharing_the_engine_get_correct_results(ops_ruleset):
    r = random.Random(11)
    batches = [[random_fact(r) for _ in range(700)] for _ in range(4)]
    results: dict[int, list] = {}

    def work(k: int) -> None:
        results[k] = engine().evaluate(ops_ruleset, batches[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == ref_evaluate(RULES, batches[k]) for k in range(4))

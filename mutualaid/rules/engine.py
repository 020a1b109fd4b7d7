"""The one wrapper around durable_rules 2.0.28 — the only module that imports it.

Everything the rest of the code knows about the rules engine is in this interface:

* :class:`RuleSpec` — a rule code, a durable_rules JSON condition on the fields of ONE
  fact, and the fact fields the rule depends on (for the audit trace);
* :meth:`RuleEngine.register` — register a versioned ruleset name (``hosp_2026``) once;
* :meth:`RuleEngine.evaluate` — for each fact, the set of codes of EVERY rule it matches;
* :func:`engine` — the per-process singleton.

Replacing durable_rules means rewriting this file only: conditions are plain data and
their meaning is fixed below ("Condition language").

Condition language (checked by :meth:`RuleEngine.register`)
------------------------------------------------------------
A condition is a JSON object with exactly one key:

* ``{"field": literal}`` or ``{"$eq": {"field": literal}}`` — equal;
* ``{"$neq" | "$lt" | "$lte" | "$gt" | "$gte": {"field": literal}}``;
* ``{"$and": [cond, ...]}``, ``{"$or": [cond, ...]}`` — an empty ``$and`` is always
  true, an empty ``$or`` never (so a policy with an empty list still registers).

Literals are ``bool``, ``int``/``float`` or ``str``; ordering operators take numbers or
strings (strings compare byte-wise, so ISO dates order correctly). Each field has one
kind across the ruleset, and fact values are checked against it, because durable_rules
silently coerces (``True`` equals ``1`` and ``"true"``; ``True < 16``). A field that is
missing or ``None`` in a fact matches no comparison on it, ``$neq`` included (``None``
values are dropped before posting; durable_rules itself also never matches ``null``).
Other durable_rules operators (``$m`` field references, ``$ex``, ``$nex``, ``$mt``,
arithmetic) are refused: not needed, and a small language is easy to re-implement.
Field names start with a letter; ``id`` and ``sid`` are durable_rules' own.
``RuleSpec.inputs`` must name every field the condition reads (it may name more).

How facts are evaluated (and which durable_rules pitfalls this avoids)
-----------------------------------------------------------------------
* Facts, not events, so every matching rule fires (events are consumed by the first).
* durable_rules' Python action machinery is bypassed: the wrapper asserts each fact with
  the C core (``assert_fact``, synchronous, returning a per-fact result code) and then
  drains the session's pending actions itself (``start_action_for_state`` /
  ``complete_and_start_action``), reading the rule name and fact id from each action's
  message. No Python action runs inside durable_rules, so none can have its exception
  swallowed into the session state; any error while draining raises :class:`EngineError`.
  Each result is cross-checked: a fact the engine reported as handled must have fired at
  least one rule, and an unhandled one none — otherwise :class:`EngineError`.
* ``post_batch``/``assert_facts`` are not used: their single result code cannot tell
  which fact was a duplicate, and ``post_batch`` returns before background actions finish.
* The durable_rules ``Host`` is created without its background dispatch/timer threads
  (they could otherwise start our pending actions on another thread). There are no timers.
* Result code 1 (``MessageNotHandledException``): no rule matched -> empty set.
* Result code 2 (``MessageObservedException``): durable_rules compares message ids by a
  32-bit FNV-1a hash per session, so a distinct fact can be refused as "already seen".
  Such a fact is evaluated again in a fresh session (never dropped). Within a session our
  ids are the positions ``0 .. CHUNK-1``, whose hashes are all distinct, so this is rare.
* Sessions: at most ~1,024 live sessions per ruleset, and facts stay in a session until
  it is deleted. Every ``CHUNK`` facts use a fresh session that is always deleted
  (``finally``), so at most one session is live and memory stays flat for any number of
  facts.
* Deleting a session in which no action ever started crashes the process (a C bug:
  uninitialised pointers freed; see ``_open_session``). Every session therefore starts
  with one internal fact that fires an internal rule, completed at once.

Threading: one engine per process is expected: use :func:`engine`, so that the whole
process shares one durable_rules host and one registry of ruleset names (a name can be
registered once per host, never changed). Calls are serialised by a lock, so threads may
share the engine but do not run in parallel; for parallelism use processes, each using
its own engine (first used after fork, not before). ``RuleEngine()`` itself is for tests.
"""
from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass
from json.encoder import encode_basestring
from math import isfinite, prod
from typing import Any, Sequence

import durable_rules_engine as _dre  # the C core of durable_rules
from durable import engine as _durable

__all__ = ["EngineError", "RuleEngine", "RuleSpec", "check_ruleset", "engine"]


class EngineError(RuntimeError):
    """The rules engine could not give a complete, trustworthy answer."""


@dataclass(frozen=True)
class RuleSpec:
    code: str  # e.g. "R03"
    condition: dict  # durable_rules JSON condition on ONE fact's fields (see module doc)
    inputs: tuple[str, ...]  # the fact fields the condition reads (for the audit trace)


#: Facts per durable_rules session; the session is deleted and replaced after each chunk.
CHUNK = 500
#: durable_rules' alpha-network stack holds 64 nodes: a fact matching more than 64 leaf
#: comparisons at once fails with error 303, and ~500 leaves under one node hang at
#: ruleset creation. A ruleset's leaves (after expanding $or/$and) are capped here.
MAX_LEAVES = 64
#: durable_rules refuses a message with more than 254 properties (error 302).
MAX_FIELDS = 250

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # so "_session" below is ours
_RESERVED_FIELDS = frozenset({"id", "sid"})
# Every session starts with this fact, which fires this rule (see _open_session).
_SESSION_RULE = "_session"
_SESSION_FACT_ID = "-1"  # fact ids in a session: "-1", "0" .. str(CHUNK - 1)
_COMPARISONS = frozenset({"$eq", "$neq", "$lt", "$lte", "$gt", "$gte"})
_ORDERING = frozenset({"$lt", "$lte", "$gt", "$gte"})
# An action message is the posted fact text, prefixed: {"R03":{"m":{"id":17,"sid":...
_ACTION_RE = re.compile(r'\{"([A-Za-z0-9_]+)":\{"m":\{"id":([^,]+),')
_encode_str = encode_basestring  # JSON string, non-ASCII kept raw: durable_rules compares
_int_repr = int.__repr__           # the UTF-8 text, "\\u5f20" would not equal "张"
_MAX_INTERNED = 4096


# ---------------------------------------------------------------- conditions (pure)
_TRUE, _FALSE = "TRUE", "FALSE"


def _literal_kind(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not isfinite(value):
            raise EngineError(f"{where}: literal {value!r} is not finite")
        return "number"
    if isinstance(value, str):
        return "str"
    raise EngineError(f"{where}: literal {value!r} must be bool, int, float or str")


def _compile(cond: Any, kinds: dict[str, str], where: str) -> Any:
    """Validate ``cond``, record field kinds, return it simplified (or _TRUE/_FALSE)."""
    if not isinstance(cond, dict) or len(cond) != 1:
        raise EngineError(f"{where}: a condition is an object with exactly one key, got {cond!r}")
    (key, value), = cond.items()
    if key in ("$and", "$or"):
        if not isinstance(value, (list, tuple)):
            raise EngineError(f"{where}: {key} takes a list, got {value!r}")
        parts = [_compile(c, kinds, where) for c in value]
        absorbing, neutral = (_FALSE, _TRUE) if key == "$and" else (_TRUE, _FALSE)
        if absorbing in parts:
            return absorbing
        parts = [p for p in parts if p != neutral]
        if not parts:
            return neutral
        return parts[0] if len(parts) == 1 else {key: parts}
    if key.startswith("$"):
        if key not in _COMPARISONS:
            raise EngineError(f"{where}: operator {key} is not supported")
        if not isinstance(value, dict) or len(value) != 1:
            raise EngineError(f"{where}: {key} takes one {{field: literal}}, got {value!r}")
        (field, literal), = value.items()
        op = key
    else:
        field, literal, op = key, value, "$eq"
    if not isinstance(field, str) or not _FIELD_RE.match(field) or field in _RESERVED_FIELDS:
        raise EngineError(f"{where}: invalid field name {field!r}")
    kind = _literal_kind(literal, where)
    if op in _ORDERING and kind == "bool":
        raise EngineError(f"{where}: {op} on a bool is not supported")
    if kinds.setdefault(field, kind) != kind:
        raise EngineError(f"{where}: field {field!r} compared with a {kind} here "
                          f"and with a {kinds[field]} elsewhere")
    return {field: literal} if op == "$eq" else {op: {field: literal}}


def _fields(cond: Any) -> set[str]:
    (key, value), = cond.items()
    if key in ("$and", "$or"):
        return set().union(*(_fields(c) for c in value))
    if key.startswith("$"):
        return set(value)
    return {key}


def _leaves(cond: Any) -> tuple[int, int]:
    """(terms, leaves) of the condition expanded to a disjunction of conjunctions."""
    (key, value), = cond.items()
    if key == "$or":
        parts = [_leaves(c) for c in value]
        return sum(t for t, _ in parts), sum(n for _, n in parts)
    if key == "$and":
        parts = [_leaves(c) for c in value]
        terms = prod(t for t, _ in parts)
        return terms, sum(n * terms // t for t, n in parts)
    return 1, 1


def _kind_error(j: int, field: str, value: Any, kind: str) -> EngineError:
    return EngineError(f"fact {j}: field {field!r} = {value!r} is a {type(value).__name__}; "
                       f"the rules compare it with a {kind}")


def _number_text(j: int, field: str, value: Any) -> str:
    """JSON text of a number that is not exactly an int (int subclass, float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _kind_error(j, field, value, "number")
    if isinstance(value, int):
        return _int_repr(value)
    if not isfinite(value):
        raise EngineError(f"fact {j}: field {field!r} = {value!r} is not finite")
    return float.__repr__(value)


class _Ruleset:
    """A registered ruleset: its durable_rules handle and what evaluate needs."""

    def __init__(self, name: str, rules: Sequence[RuleSpec]):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise EngineError(f"invalid ruleset name {name!r} (letters, digits, _)")
        rules = tuple(rules)
        if not rules:
            raise EngineError(f"ruleset {name}: no rules")
        kinds: dict[str, str] = {}
        seen: set[str] = set()
        canonical, conditions, always, leaves = [], {}, [], 0
        for rule in rules:
            if not isinstance(rule, RuleSpec):
                raise EngineError(f"ruleset {name}: {rule!r} is not a RuleSpec")
            code = rule.code
            if not isinstance(code, str) or not _NAME_RE.match(code) or code in seen:
                raise EngineError(f"ruleset {name}: invalid or repeated rule code {code!r}")
            seen.add(code)
            where = f"ruleset {name}, rule {code}"
            if isinstance(rule.inputs, str) or not all(isinstance(f, str) for f in rule.inputs):
                raise EngineError(f"{where}: inputs must be a tuple of field names")
            try:
                text = json.dumps(rule.condition, sort_keys=True, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise EngineError(f"{where}: condition is not JSON: {exc}") from None
            compiled = _compile(copy.deepcopy(rule.condition), kinds, where)
            canonical.append((code, text))
            if compiled == _TRUE:
                always.append(code)
            elif compiled != _FALSE:
                missing = _fields(compiled) - set(rule.inputs)
                if missing:
                    raise EngineError(f"{where}: inputs {rule.inputs} omit {sorted(missing)}")
                leaves += _leaves(compiled)[1]
                conditions[code] = compiled
        if leaves > MAX_LEAVES:
            raise EngineError(f"ruleset {name}: {leaves} leaf comparisons (after expanding "
                              f"$or), durable_rules can take {MAX_LEAVES}")
        if len(kinds) > MAX_FIELDS:
            raise EngineError(f"ruleset {name}: {len(kinds)} fields, at most {MAX_FIELDS}")
        self.name = name
        self.signature = tuple(sorted(canonical))
        self.codes = {code: code for code in conditions}  # durable rule name -> code
        self.always = frozenset(always)
        self.conditions = conditions
        # Only fields some condition reads are posted, each checked against its kind.
        read = set().union(*(_fields(c) for c in conditions.values())) if conditions else set()
        posted = sorted(f for f in kinds if f in read)
        self.bool_fields = tuple((f, f',"{f}":true', f',"{f}":false')
                                 for f in posted if kinds[f] == "bool")
        self.number_fields = tuple((f, f',"{f}":') for f in posted if kinds[f] == "number")
        self.str_fields = tuple((f, f',"{f}":') for f in posted if kinds[f] == "str")
        self.handle: int | None = None  # durable_rules C handle, set on registration
        self.interned: dict[frozenset[str], frozenset[str]] = {}

    def definition(self, action: Any) -> dict:
        """A fresh durable_rules definition (Host.register_rulesets mutates what it gets)."""
        rules = {code: {"all": [{"m": copy.deepcopy(cond)}], "run": action}
                 for code, cond in self.conditions.items()}
        rules[_SESSION_RULE] = {"all": [{"m": {_SESSION_RULE: True}}], "run": action}
        return rules


def check_ruleset(name: str, rules: Sequence[RuleSpec]) -> None:
    """Check a ruleset as :meth:`RuleEngine.register` would, without registering it
    (policy files are checked when they load, before any engine is used)."""
    _Ruleset(name, rules)


# ---------------------------------------------------------------- durable_rules host
class _SyncHost(_durable.Host):
    """A durable_rules Host without its background dispatch and timer threads.

    ``Host._run`` starts threads that call ``start_action`` on every ruleset every 0.2 s;
    they could take our pending actions and run them on another thread. This wrapper
    drains actions itself, synchronously, and uses no timers.
    """

    def _run(self) -> None:  # noqa: D401 - replaces the thread start-up
        pass


def _unreachable_action(c: Any) -> None:
    # durable_rules requires a "run" per rule; the wrapper drains actions itself, so
    # durable_rules never calls this. If it ever did, the result would be incomplete.
    raise EngineError("durable_rules ran an action itself; RuleEngine drains actions")


class RuleEngine:
    """Process-wide wrapper around one durable_rules host."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host: _SyncHost | None = None
        self._rulesets: dict[str, _Ruleset] = {}
        self._sid_counter = 0
        self._ids = [str(i) for i in range(CHUNK)]  # fact id = position in the chunk

    # -- registration
    def register(self, name: str, rules: Sequence[RuleSpec]) -> None:
        """Register ``name`` once; same definition again is a no-op, another raises."""
        compiled = _Ruleset(name, rules)
        with self._lock:
            known = self._rulesets.get(name)
            if known is not None:
                if known.signature == compiled.signature:
                    return
                raise EngineError(f"ruleset {name} is already registered with another "
                                  f"definition; durable_rules cannot change it: use a new name")
            if compiled.conditions:
                if self._host is None:
                    self._host = _SyncHost()
                try:
                    self._host.set_rulesets({name: compiled.definition(_unreachable_action)})
                    compiled.handle = self._host.get_ruleset(name)._handle
                except Exception as exc:
                    raise EngineError(f"durable_rules refused ruleset {name}: {exc}") from exc
            self._rulesets[name] = compiled

    # -- evaluation
    def evaluate(self, name: str, facts: Sequence[dict]) -> list[frozenset[str]]:
        """For each fact, in order, the codes of every rule whose condition it matches."""
        rs = self._rulesets.get(name)
        if rs is None:
            raise EngineError(f"ruleset {name!r} is not registered")
        n = len(facts)
        out: list[frozenset[str]] = [rs.always] * n
        if rs.handle is None or n == 0:
            for fact in facts:
                if not isinstance(fact, dict):
                    raise EngineError(f"a fact must be a dict, got {type(fact).__name__}")
            return out
        with self._lock:
            for start in range(0, n, CHUNK):
                observed = self._run_chunk(rs, facts, range(start, min(n, start + CHUNK)), out)
                for j in observed:
                    self._retry(rs, facts, j, out)
        return out

    def _retry(self, rs: _Ruleset, facts: Sequence[dict], j: int, out: list) -> None:
        """A fact refused as already observed (id hash collision): again, alone."""
        for _ in range(3):
            if not self._run_chunk(rs, facts, (j,), out):
                return
        raise EngineError(f"fact {j} was refused as a duplicate three times in fresh sessions")

    def _new_sid(self) -> str:
        self._sid_counter += 1
        return str(self._sid_counter)

    def _run_chunk(self, rs: _Ruleset, facts: Sequence[dict], idxs: Sequence[int],
                   out: list) -> list[int]:
        """Evaluate ``facts[j] for j in idxs`` in one fresh session, always deleted.

        Fills ``out[j]``; returns the ``j`` that durable_rules refused as already observed.
        """
        handle = rs.handle
        bool_fields, number_fields, str_fields = rs.bool_fields, rs.number_fields, rs.str_fields
        ids = self._ids
        assert_fact = _dre.assert_fact
        sid = self._new_sid()
        state = self._open_session(handle, sid)
        sid_part = ',"sid":"' + sid + '"'
        handled: dict[str, int] = {}  # fact id -> j, for facts that fired some rule
        observed: list[int] = []
        try:
            for pos, j in enumerate(idxs):
                fact = facts[j]
                try:
                    get = fact.get
                except AttributeError:
                    raise EngineError(f"fact {j} must be a dict, got {type(fact).__name__}") from None
                # The fact's JSON, by hand: 2-3x faster than dict + json encoder, and each
                # value's type is checked against the kind the rules compare it with.
                fid = ids[pos]
                parts = ['{"id":', fid, sid_part]
                for field, if_true, if_false in bool_fields:
                    value = get(field)
                    if value is True:
                        parts.append(if_true)
                    elif value is False:
                        parts.append(if_false)
                    elif value is not None:
                        raise _kind_error(j, field, value, "bool")
                for field, prefix in number_fields:
                    value = get(field)
                    if value is not None:
                        if type(value) is int:
                            parts.append(prefix + _int_repr(value))
                        else:
                            parts.append(prefix + _number_text(j, field, value))
                for field, prefix in str_fields:
                    value = get(field)
                    if value is not None:
                        if not isinstance(value, str):
                            raise _kind_error(j, field, value, "str")
                        parts.append(prefix + _encode_str(value))
                parts.append("}")
                message = "".join(parts)
                result, state = assert_fact(handle, message)
                if result == 0:
                    if fid in handled:
                        raise EngineError(f"durable_rules accepted fact id {fid} twice in session {sid}")
                    handled[fid] = j
                elif result == 2:
                    observed.append(j)
                elif result != 1:
                    raise EngineError(f"durable_rules returned code {result} for fact {j}")
            fired = self._drain(rs, state, handled) if handled else {}
            if len(fired) != len(handled):  # every handled fact fired something, by design
                lost = sorted(j for j in handled.values() if j not in fired)
                raise EngineError(f"durable_rules handled facts {lost[:10]} but fired no rule")
            always, interned = rs.always, rs.interned
            for j, codes in fired.items():
                result_set = frozenset(codes) | always if always else frozenset(codes)
                out[j] = interned.get(result_set) or (
                    interned.setdefault(result_set, result_set)
                    if len(interned) < _MAX_INTERNED else result_set)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"durable_rules failed in ruleset {rs.name}: {exc!r}") from exc
        finally:
            try:
                _dre.delete_state(handle, sid)
            except Exception as exc:
                raise EngineError(f"could not delete durable_rules session {sid}: {exc}") from exc
        return observed

    @staticmethod
    def _open_session(handle: int, sid: str) -> int:
        """Create session ``sid`` so that deleting it is safe; returns its state offset.

        durable_rules' createStateNode leaves the session's action context (two heap
        pointers) uninitialised, and deleteStateNode frees them: deleting a session in
        which no action ever started frees garbage (segfault / "munmap_chunk(): invalid
        pointer", depending on what the heap held before). Starting and completing one
        action sets both pointers to NULL, so every session starts with a fact that fires
        the session rule. Should this fail, the session is left alone (a leak of one
        session, never a crash).
        """
        message = f'{{"id":{_SESSION_FACT_ID},"sid":"{sid}","{_SESSION_RULE}":true}}'
        try:
            result, state = _dre.assert_fact(handle, message)
            started = _dre.start_action_for_state(handle, state) if result == 0 else None
            if started is None or not started[1].startswith(f'{{"{_SESSION_RULE}":'):
                raise EngineError(f"durable_rules did not fire the session rule ({result}, {started!r})")
            following = _dre.complete_and_start_action(handle, state)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"could not open durable_rules session {sid}: {exc!r}") from exc
        if following is not None:  # the context is set now, so the session can be deleted
            _dre.delete_state(handle, sid)
            raise EngineError(f"unexpected action in new durable_rules session {sid}: {following[:200]!r}")
        return state

    def _drain(self, rs: _Ruleset, state: int, handled: dict[str, int]) -> dict[int, list[str]]:
        """Run the session's pending actions: (rule, fact id) of every match."""
        handle = rs.handle
        codes = rs.codes
        match = _ACTION_RE.match
        complete = _dre.complete_and_start_action
        fired: dict[int, list[str]] = {}
        started = _dre.start_action_for_state(handle, state)
        message = started[1] if started else None
        while message is not None:
            m = match(message)
            if m is None:
                raise EngineError(f"unexpected durable_rules action message {message[:200]!r}")
            rule, fid = m.groups()
            code = codes[rule]
            j = handled[fid]
            hit = fired.get(j)
            if hit is None:
                fired[j] = [code]
            else:
                hit.append(code)
            message = complete(handle, state)
        return fired


_engine: RuleEngine | None = None
_engine_lock = threading.Lock()


def engine() -> RuleEngine:
    """The per-process engine (its durable_rules host is created lazily, once)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = RuleEngine()
    return _engine


def _durable_modules() -> tuple[Any, Any]:
    """(durable.engine, durable_rules_engine) — for benchmarks/bench_engine_bare.py only,
    which measures bare durable_rules; product code goes through RuleEngine."""
    return _durable, _dre

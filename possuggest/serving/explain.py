"""What a cashier would see for a basket, and why: the manager console's what-if preview.

:func:`explain` runs the engine's own ``suggest()`` (the counter policy, ``display=True``)
with a tracer (:data:`~possuggest.serving.engine.Tracer`): the engine says at each of its
filters which product it passed over and why, so the cards here are exactly the cashier's and
no rule is written twice. On top of that record:

* each card's **evidence**: the rule (id, antecedent → consequent, baskets with both,
  confidence, lift, the card's evidence-shrunk lift) and what cashiers made of it so far
  (learned acceptance from serving/feedback.py, when there is any);
* every product the basket's rules point at but that is **not shown**, with the reason:
  blocked, excluded category, out of stock, below a threshold (which one, value against the
  setting), wrong direction, substitute, size variant, dismissed too often, hub filler,
  evidence too weak, outranked, ...; and
* :meth:`Explanation.why_not` for any product the manager names, including "no rule from
  this basket" for one no rule points at.

Rules dropped when the index was built (thresholds) are not in the engine's index: they are
found in the rule set itself and judged by the engine's own checks
(:meth:`~possuggest.serving.engine.SuggestionEngine.cross_checks`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from possuggest.core.context_time import bucket_label, bucket_of
from possuggest.serving.engine import Suggestion, SuggestionEngine
from possuggest.serving.feedback import Estimate, driver_key
from possuggest.serving.reasons import money

log = logging.getLogger(__name__)

#: reason code -> the short label the console shows
LABELS: dict[str, str] = {
    "shown": "Shown",
    "in_basket": "In the basket",
    "excluded": "Taken or dismissed in this sale",
    "blocked": "Blocked",
    "inactive": "Not sold any more",
    "out_of_stock": "Out of stock",
    "excluded_category": "Excluded category",
    "not_in_catalogue": "Not in the till's catalogue",
    "below_threshold": "Below a threshold",
    "too_dear": "Wrong direction",
    "dearer_version": "Wrong direction",
    "main_item": "Wrong direction",
    "substitute": "Substitute",
    "size_variant": "Size variant",
    "not_dearer": "Not an upgrade",
    "has_upgrade": "Upgrade already in the basket",
    "another_upgrade": "Another upgrade first",
    "dismissed_too_often": "Dismissed too often",
    "hub_filler": "Hub filler",
    "weak_evidence": "Evidence too weak",
    "not_positive": "Evidence nets out",
    "outranked": "Outranked",
    "outranked_by_upgrade": "Outranked",
    "no_rule": "No rule from this basket",
    "unknown": "Unknown product",
}

# traced reasons that are records, not reasons for leaving a product off
_NOT_REASONS = frozenset({"card", "no_rule", "scored"})
_REFERENCE_MONDAY = datetime(2026, 6, 1, tzinfo=timezone.utc)


def when_at(hour: int, minute: int = 0, weekend: bool = False) -> float:
    """Wall-clock seconds (see core/context_time.py) for a weekday or weekend at hh:mm, to
    ask ``suggest()`` about another time of day than now."""
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"time of day {hour:02d}:{minute:02d} is not a time")
    day = _REFERENCE_MONDAY + timedelta(days=5 if weekend else 0)
    return day.replace(hour=hour, minute=minute).timestamp()


@dataclass(frozen=True)
class Acceptance:
    """What cashiers' customers made of a card so far (serving/feedback.py)."""

    level: str                 # 'pair': this basket item → this product; 'item': the product
    shown: float
    accepted: float
    dismissed: float
    rate: float                # the posterior mean of the acceptance
    multiplier: float          # what it does to the card's score
    store_rate: float
    hidden: bool = False

    @property
    def text(self) -> str:
        who = "with this item" if self.level == "pair" else "overall"
        return (f"accepted {self.accepted:.0f} of {self.shown:.0f} shows {who} "
                f"(learned rate {self.rate:.0%}, store {self.store_rate:.0%}; "
                f"score ×{self.multiplier:.2f})")


@dataclass(frozen=True)
class Evidence:
    """The rule behind a card (or behind a product that was not shown)."""

    rule_id: int | None
    kind: str                              # 'cross' | 'upgrade'
    antecedent: tuple[str, ...]
    consequent: str
    count: float | None = None             # baskets holding both
    antecedent_count: float | None = None  # baskets holding the antecedent
    confidence: float | None = None
    lift: float | None = None
    support: float | None = None
    card_lift: float | None = None         # the lift shrunk for thin evidence (policy)
    names: tuple[str, ...] = ()            # the antecedent's names

    @property
    def text(self) -> str:
        who = " + ".join(self.names or self.antecedent)
        rid = f"rule #{self.rule_id}: " if self.rule_id is not None else ""
        if self.kind == "upgrade":
            share = "" if self.confidence is None else \
                f": {self.confidence:.0%} of shoppers choosing between the two pick it"
            count = "" if self.count is None else f" ({self.count:,.0f} buyers)"
            return f"{rid}upgrade of {who}{share}{count}"
        parts = [f"{rid}with {who}"]
        if self.count is not None:
            parts.append(f"{self.count:,.0f} sales with both")
        if self.confidence is not None:
            parts.append(f"confidence {self.confidence:.1%}")
        if self.lift is not None and np.isfinite(self.lift):
            parts.append(f"lift {self.lift:.2f}")
        if self.card_lift is not None:
            parts.append(f"card lift {self.card_lift:.2f}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Card:
    """One card the cashier would see, with what it rests on."""

    position: int
    suggestion: Suggestion
    evidence: Evidence | None
    acceptance: Acceptance | None
    source: str                            # mined | pinned | manual | bestseller

    @property
    def source_text(self) -> str:
        if self.suggestion.kind == "upgrade":
            return "Manual upgrade path" if self.source == "manual" else "Mined upgrade"
        return {"pinned": "Pinned by the manager", "manual": "Manual rule",
                "bestseller": "Best seller (popularity)", "mined": "Mined rule"}.get(
                    self.source, self.source)


@dataclass(frozen=True)
class NotShown:
    """A product that is not on the cards, and why (the first filter that removed it)."""

    sku: str
    name: str
    reason: str                            # a key of LABELS
    text: str                              # one line for the manager
    data: Mapping[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()             # the other filters it would also have failed
    evidence: Evidence | None = None

    @property
    def label(self) -> str:
        return LABELS.get(self.reason, self.reason)


@dataclass
class _Record:
    """What the engine's tracer said during one ``suggest()`` call."""

    reasons: dict[str, list[tuple[str, Mapping[str, Any]]]] = field(default_factory=dict)
    cards: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    scored: Mapping[str, Any] | None = None
    all_blocked_with: str | None = None

    def __call__(self, sku: str, reason: str, data: Mapping[str, Any]) -> None:
        if reason == "scored":
            self.scored = data
        elif reason == "card":
            self.cards[sku] = data
        elif sku == "*":
            self.all_blocked_with = str(data.get("with", ""))
        else:
            self.reasons.setdefault(sku, []).append((reason, data))


class _RuleTable:
    """The rule set's columns indexed for the questions asked here (built once per engine):
    rules grouped by their antecedent's first item, rule ids sorted, and whether each rule
    passes the policy's thresholds."""

    def __init__(self, engine: SuggestionEngine) -> None:
        r = self.rules = engine.rules
        self.codes: dict[str, int] = {}
        if r is None or not len(r.rule_id):
            self.first = self.size = self.by_first = self.ids = self.id_rows = \
                np.zeros(0, dtype=np.int64)
            self.indptr = np.zeros(1, dtype=np.int64)
            self.passes = np.zeros(0, dtype=bool)
            return
        codes = self.codes
        self.first = np.fromiter((codes.setdefault(a[0], len(codes)) for a in r.antecedent),
                                 dtype=np.int64, count=len(r.antecedent))
        self.size = np.fromiter((len(a) for a in r.antecedent), dtype=np.int64,
                                count=len(r.antecedent))
        self.by_first = np.argsort(self.first, kind="stable")
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.first,
                                                                 minlength=len(codes)))])
        self.id_rows = np.argsort(r.rule_id, kind="stable")
        self.ids = r.rule_id[self.id_rows]
        ok = np.asarray(r.kind == "cross")
        for _, _, passes in engine.cross_checks(r.confidence, r.count, r.lift):
            ok = ok & passes
        up = (r.kind == "upgrade") & engine.upgrade_check(r.confidence)
        self.passes = np.asarray(ok | up)

    def row(self, rule_id: int) -> int:
        k = int(np.searchsorted(self.ids, rule_id))
        return int(self.id_rows[k]) if k < len(self.ids) and self.ids[k] == rule_id else -1

    def from_basket(self, basket: Sequence[str], multi: bool = False) -> np.ndarray:
        """Rows of the rules whose antecedent is one basket item (pair and upgrade rules) and,
        with ``multi``, of the multi-item rules whose antecedent is all in the basket."""
        r = self.rules
        parts = [self.by_first[self.indptr[c]:self.indptr[c + 1]]
                 for c in (self.codes.get(s) for s in dict.fromkeys(basket)) if c is not None]
        if r is None or not parts:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(parts)
        size = self.size[rows]
        out = rows[size == 1]
        if multi and len(basket) >= 2:
            items = set(basket)
            more = [k for k in rows[size > 1].tolist() if items.issuperset(r.antecedent[k])]
            out = np.concatenate([out, np.asarray(more, dtype=np.int64)])
        return out


_tables: weakref.WeakKeyDictionary[SuggestionEngine, _RuleTable] = weakref.WeakKeyDictionary()


def _table(engine: SuggestionEngine) -> _RuleTable:
    t = _tables.get(engine)
    if t is None:
        t = _tables[engine] = _RuleTable(engine)
    return t


@dataclass
class Explanation:
    """The cards for one basket and the reasons behind them; see the module docstring."""

    engine: SuggestionEngine
    basket: tuple[str, ...]
    unknown: tuple[str, ...]               # basket SKUs the engine does not know (ignored)
    when: float | None
    cards: tuple[Card, ...]
    not_shown: tuple[NotShown, ...]
    bucket: int = -1                       # time-of-day context used (-1: none in the rules)
    _record: _Record = field(default_factory=_Record, repr=False)
    _by_cons: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def suggestions(self) -> list[Suggestion]:
        return [c.suggestion for c in self.cards]

    @property
    def context_text(self) -> str:
        if self.bucket < 0:
            return "the rules hold no time-of-day figures"
        return bucket_label(self.bucket)

    def why_not(self, sku: str) -> NotShown:
        """Why ``sku`` is not on the cards ("shown" when it is)."""
        for c in self.cards:
            if c.suggestion.sku == sku:
                return NotShown(sku, c.suggestion.name, "shown",
                                f"Shown as card {c.position + 1} ({c.source_text.lower()})",
                                evidence=c.evidence)
        for ns in self.not_shown:
            if ns.sku == sku:
                return ns
        eng = self.engine
        if not eng.known(sku) and sku not in eng.products:
            return NotShown(sku, sku, "unknown", f"No product {sku} in the till or the rules")
        return _judge(self, sku)


def explain(engine: SuggestionEngine, basket: Iterable[str], when: float | None = None,
            exclude: Iterable[str] = ()) -> Explanation:
    """The cashier's cards for ``basket`` (exactly ``engine.suggest(basket, exclude=exclude,
    when=when)``) with their evidence, and every product the basket's rules point at that is
    not shown, with the reason."""
    items = tuple(dict.fromkeys(str(s) for s in basket))
    record = _Record()
    sugs = engine.suggest(items, exclude=tuple(exclude), when=when, display=True, tracer=record)
    unknown = tuple(s for s in items if not engine.known(s))
    scored = record.scored
    bucket = int(scored["bucket"]) if scored is not None else (
        bucket_of(when) if engine.rules is not None and engine.rules.context else -1)
    cards = tuple(_card(engine, k, s, record) for k, s in enumerate(sugs))
    table = _table(engine)
    rows = table.from_basket([s for s in items if engine.known(s)],
                             multi=engine.scoring.multi_weight > 0)
    by_cons: dict[str, list[int]] = {}
    if engine.rules is not None:
        for k, c in zip(rows.tolist(), engine.rules.consequent[rows].tolist()):
            by_cons.setdefault(str(c), []).append(k)
    ex = Explanation(engine, items, unknown, when, cards, (), bucket, record,
                     {c: np.asarray(v, dtype=np.int64) for c, v in by_cons.items()})
    shown = {s.sku for s in sugs}
    out = [_judge(ex, sku) for sku in _related(engine, items, ex._by_cons)
           if sku not in shown and sku not in items]
    out.sort(key=_strongest_first)
    ex.not_shown = tuple(out)
    return ex


def _strongest_first(n: NotShown) -> tuple[float, str]:
    ev = n.evidence
    return (-(ev.confidence or 0.0) if ev is not None else 1.0, n.name)


# -- the cards -------------------------------------------------------------------------------------
def _acceptance(engine: SuggestionEngine, because: Sequence[str], sku: str) -> Acceptance | None:
    fb = engine.feedback
    if fb is None:
        return None
    level = "pair"
    est: Estimate | None = fb.pairs.get((driver_key(because), sku)) if because else None
    if est is None:
        level, est = "item", fb.items.get(sku)
    if est is None:
        return None
    return Acceptance(level, est.shown, est.accepted, est.dismissed, est.mean, est.multiplier,
                      fb.store_rate, est.hidden)


def _evidence_of(engine: SuggestionEngine, row: int, card_lift: float | None = None
                 ) -> Evidence | None:
    r = engine.rules
    if r is None or row < 0:
        return None
    conf = float(r.confidence[row])
    count = float(r.count[row])
    ante = tuple(str(a) for a in r.antecedent[row])
    lift = float(r.lift[row]) if r.lift[row] is not None else None
    return Evidence(rule_id=int(r.rule_id[row]), kind=str(r.kind[row]), antecedent=ante,
                    consequent=str(r.consequent[row]), count=count,
                    antecedent_count=count / conf if conf > 0 else None, confidence=conf,
                    lift=lift, support=float(r.support[row]), card_lift=card_lift,
                    names=tuple(engine.name_of(a) for a in ante))


def _pair_row(engine: SuggestionEngine, rows: np.ndarray, sku: str) -> int:
    """The cross rule among ``rows`` (from one basket item) whose consequent is ``sku``."""
    r = engine.rules
    if r is None or not len(rows):
        return -1
    hit = rows[(r.consequent[rows] == sku) & (r.kind[rows] == "cross")]
    return int(hit[0]) if len(hit) else -1


def _card(engine: SuggestionEngine, k: int, sug: Suggestion, record: _Record) -> Card:
    table = _table(engine)
    evidence: Evidence | None = None
    if sug.rule_id is not None:
        traced = record.cards.get(sug.sku, {})
        lift = traced.get("card_lift")
        evidence = _evidence_of(engine, table.row(sug.rule_id),
                                None if lift is None else float(lift))
    elif sug.source in ("pinned", "manual") and sug.because and sug.kind == "cross":
        rows = table.from_basket(sug.because)
        evidence = _evidence_of(engine, _pair_row(engine, rows, sug.sku))
    acc = _acceptance(engine, sug.because, sug.sku) if sug.source == "mined" else None
    return Card(k, sug, evidence, acc, sug.source)


# -- what was not shown ----------------------------------------------------------------------------
def _related(engine: SuggestionEngine, basket: tuple[str, ...],
             by_cons: Mapping[str, np.ndarray]) -> list[str]:
    """Products the basket points at: its rules' consequents (whatever their thresholds) and
    the manager's pinned / manual pairs and upgrade paths from basket items."""
    seen: dict[str, None] = dict.fromkeys(by_cons)
    seen.update(dict.fromkeys(_forced(engine, basket)))
    seen.update(dict.fromkeys(_paths(engine, basket)))
    return list(seen)


def _paths(engine: SuggestionEngine, basket: tuple[str, ...]) -> list[str]:
    """The manager's upgrade paths' targets from basket items."""
    return [p.to_sku for p in engine.policy.upgrade_paths if p.from_sku in basket]


def _forced(engine: SuggestionEngine, basket: tuple[str, ...]) -> list[str]:
    """The manager's pinned and manual cards for basket items."""
    p = engine.policy
    out = [b for a, b in p.pinned if a in basket]
    out += [rule.suggest for rule in p.manual if rule.with_sku in basket]
    return out


# filters applied to every product before any evidence is weighed
_UP_FRONT = frozenset({"blocked", "excluded", "inactive", "out_of_stock", "excluded_category",
                       "not_in_catalogue"})


def _judge(ex: Explanation, sku: str) -> NotShown:
    """The reason ``sku`` is not shown: the first filter the engine reported, else the rule
    set's thresholds, else where it ranked."""
    eng = ex.engine
    name = eng.name_of(sku)
    rec = ex._record
    hit = ex._by_cons.get(sku, np.zeros(0, dtype=np.int64))
    best = _best_rule(eng, hit)
    if sku in ex.basket:
        return NotShown(sku, name, "in_basket", "Already in the basket", evidence=best)
    found = [(code, data) for code, data in rec.reasons.get(sku, []) if code not in _NOT_REASONS]
    if rec.all_blocked_with is not None and eng.known(sku):
        found.insert(0, ("blocked", {"with": rec.all_blocked_with, "everything": True}))
    texts = [_text(eng, sku, code, data) for code, data in found]
    forced = sku in _forced(eng, ex.basket)
    if best is None and not forced and sku not in _paths(eng, ex.basket):
        # nothing from this basket points at it: that comes first, whatever else holds
        return NotShown(sku, name, "no_rule", "No rule from this basket suggests it",
                        also=tuple(dict.fromkeys(texts)))
    below = _thresholds(eng, hit)
    if found and (below is None or found[0][0] in _UP_FRONT):
        code, data = found[0]
        also = tuple(dict.fromkeys(texts[1:] + ([below[1]] if below else [])))
        return NotShown(sku, name, code, texts[0], dict(data), also, best)
    if below is not None:
        # with no rule left in the index, any later filter judged a popularity-only candidate
        return NotShown(sku, name, "below_threshold", below[1], below[0], tuple(texts),
                        evidence=_evidence_of(eng, int(below[0]["row"])))
    if any(code == "no_rule" for code, _ in rec.reasons.get(sku, [])):
        return NotShown(sku, name, "no_rule", "No rule from this basket suggests it (it ranked "
                        "on popularity alone, which is never a card)", evidence=best)
    scored = rec.scored
    if forced:
        return NotShown(sku, name, "outranked", "Outranked: more pinned and manual cards than "
                        f"max_suggestions = {eng.policy.max_suggestions}", evidence=best)
    if scored is not None:
        j = scored["index"].get(sku)
        score = float(scored["score"][j]) if j is not None else 0.0
        cand = scored["cand"]
        limit = int(scored["limit"])
        if j is not None and score > 0 and bool(np.any(cand == j)):
            return NotShown(sku, name, "outranked",
                            f"Outranked: {limit} better cards filled the slots "
                            f"(max_suggestions = {limit})", {"score": score}, evidence=best)
        if j is not None and score > 0:
            rank = int(np.sum(scored["score"] > score)) + 1
            return NotShown(sku, name, "outranked",
                            f"Outranked: scored #{rank}, only the best {int(scored['want'])} "
                            f"candidates are considered for {limit} cards",
                            {"score": score, "rank": rank}, evidence=best)
        if j is not None and best is not None:
            return NotShown(sku, name, "not_positive",
                            "Evidence nets out: its rules from this basket add up to no "
                            "positive score", {"score": score}, evidence=best)
    return NotShown(sku, name, "no_rule", "No rule from this basket suggests it",
                    evidence=None)


def _best_rule(eng: SuggestionEngine, hit: np.ndarray) -> Evidence | None:
    """The strongest rule (by confidence) of ``hit`` (rows of rules from the basket to one
    product)."""
    r = eng.rules
    if r is None or not len(hit):
        return None
    return _evidence_of(eng, int(hit[np.argmax(r.confidence[hit])]))


def _thresholds(eng: SuggestionEngine, hit: np.ndarray
                ) -> tuple[dict[str, Any], str] | None:
    """When the policy's thresholds left every rule of ``hit`` (rows of rules from the basket
    to one product) out of the index: the strongest one's failed settings, value vs setting."""
    r = eng.rules
    if r is None or not len(hit):
        return None
    t = _table(eng)
    if bool(t.passes[hit].any()):
        return None
    k = int(hit[np.argmax(r.confidence[hit])])
    failed: list[tuple[str, float, float]] = []
    if r.kind[k] == "upgrade":
        failed.append(("min_upgrade_share", float(r.confidence[k]),
                       float(eng.policy.min_upgrade_share)))
    else:
        for setting, value, passes in eng.cross_checks(r.confidence[k], r.count[k], r.lift[k]):
            if not bool(passes):
                failed.append((setting, float(np.nan_to_num(value, nan=0.0)),
                               float(getattr(eng.policy, setting))))
    if not failed:
        return None
    who = eng.name_of(str(r.antecedent[k][0]))
    parts = [f"{_fmt(s, v)} < {s} {_fmt(s, lim)}" for s, v, lim in failed]
    text = f"Below a threshold (rule #{int(r.rule_id[k])} with {who}): " + "; ".join(parts)
    return {"row": k, "rule_id": int(r.rule_id[k]), "failed": failed}, text


def _fmt(setting: str, value: float) -> str:
    if setting in ("min_confidence", "min_upgrade_share"):
        return f"{value:.1%}"
    if setting == "min_count":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _text(eng: SuggestionEngine, sku: str, code: str, data: Mapping[str, Any]) -> str:
    """One line for the manager from a traced reason and its numbers."""
    def nm(key: str) -> str:
        return eng.name_of(str(data.get(key, "")))

    if code == "blocked":
        if data.get("with") == "*":
            return "Blocked with any item (policy.blocked)"
        if data.get("everything"):
            return f"Blocked: nothing is suggested with {nm('with')} (policy.blocked)"
        return f"Blocked with {nm('with')} (policy.blocked)"
    if code == "excluded":
        return "Already taken or dismissed in this sale"
    if code == "inactive":
        return "Not sold any more (inactive at the till)"
    if code == "out_of_stock":
        return f"Out of stock: {data.get('stock')} in stock < min_stock {data.get('min_stock')}"
    if code == "excluded_category":
        return f"Excluded category: {data.get('category')} (policy.excluded_categories)"
    if code == "not_in_catalogue":
        return "Not in the till's catalogue"
    if code == "too_dear":
        limit = float(data["dearest"]) * float(data["ratio"]) + float(data["allowance"])
        return (f"Wrong direction: {money(float(data['price']))} is dearer than the basket "
                f"allows ({data['ratio']:g}× the dearest item {money(float(data['dearest']))} "
                f"+ {money(float(data['allowance']))} = {money(limit)})")
    if code == "dearer_version":
        return (f"Wrong direction: a dearer version of {nm('with')} "
                f"({money(float(data['price']))} vs {money(float(data['with_price']))}) — "
                "an upgrade, not an accessory")
    if code == "main_item":
        return (f"Wrong direction: a dearer main item ({data.get('family')} line, "
                f"{money(float(data['price']))}) than {nm('with')} "
                f"({money(float(data['with_price']))})")
    if code == "substitute":
        same = data.get("same", "category")
        lift = data.get("lift")
        how = ("no rule says they sell together" if lift is None
               else f"bought together less than chance (lift {float(lift):.2f})")
        return f"Substitute for {nm('with')}: same {same}, {how}"
    if code == "size_variant":
        return f"Size or fitting variant of {nm('with')}: not an upgrade"
    if code == "not_dearer":
        return (f"Not an upgrade of {nm('with')}: it costs "
                f"{money(abs(float(data.get('diff', 0.0))))} "
                f"{'less' if float(data.get('diff', 0.0)) < 0 else 'more (nothing)'}")
    if code == "has_upgrade":
        return f"The basket already holds an upgrade of {nm('with')}"
    if code == "another_upgrade":
        return f"{nm('chosen')} is offered as the upgrade of {nm('with')} instead"
    if code == "dismissed_too_often":
        because = tuple(str(b) for b in data.get("because", ()))
        who = " + ".join(eng.name_of(b) for b in because)
        fb = eng.feedback
        est = fb.pairs.get((driver_key(because), sku)) if fb is not None else None
        if est is not None and fb is not None:
            return (f"Dismissed too often with {who}: accepted {est.accepted:.0f} of "
                    f"{est.shown:.0f} shows, at most {est.upper:.0%} likely (store rate "
                    f"{fb.store_rate:.0%})")
        return f"Dismissed too often with {who}"
    if code in ("hub_filler", "weak_evidence"):
        card = float(data.get("card_lift", 0.0))
        lift = float(data.get("lift", card))
        count = data.get("count")
        what = f"card lift {card:.2f}" + (f" (lift {lift:.2f} over {float(count):,.0f} sales"
                                          f" with {nm('with')})" if count is not None else "")
        if code == "hub_filler":
            return (f"Hub filler: it goes weakly with very many products, so it needs "
                    f"hub_min_lift {float(data['hub_min_lift']):.2f}; {what}")
        return f"Evidence too weak: {what} < min_card_lift {float(data['need']):.2f}"
    if code == "outranked_by_upgrade":
        return f"Outranked: the last slot goes to the upgrade {nm('upgrade')}"
    return LABELS.get(code, code)


__all__ = ["Acceptance", "Card", "Evidence", "Explanation", "LABELS", "NotShown", "explain",
           "when_at"]

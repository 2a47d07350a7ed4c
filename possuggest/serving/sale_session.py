"""What the cashier sees for the sale being rung up at one register: the current basket, the
suggestions, what was dismissed (never shown again in that sale) and the events to log."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from possuggest.serving.engine import Suggestion, SuggestionEngine
from possuggest.serving.events import in_holdout

log = logging.getLogger(__name__)

EventSink = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class BasketUpdate:
    """The state of one register's sale, as every basket source delivers it: the till
    watcher, the basket API and the scan box alike."""

    register: str
    sale_id: str | None
    lines: tuple[tuple[str, float], ...]        # (sku, qty) in ring-up order
    source: str = ""


def counted_skus(lines: Iterable[tuple[str, float]]) -> list[str]:
    """The one rule for which lines count: a positive quantity (returns and zero lines do
    not), each SKU once, in the order it was rung up."""
    out: dict[str, None] = {}
    for sku, qty in lines:
        if qty > 0 and sku:
            out.setdefault(sku, None)
    return list(out)


@dataclass(frozen=True)
class SessionView:
    """A snapshot for the panel: draw exactly this."""

    register: str
    sale_id: str | None
    basket: tuple[str, ...]
    suggestions: tuple[Suggestion, ...]
    holdout: bool = False
    source: str = ""
    seq: int = 0


@dataclass
class _Sale:
    sale_id: str | None
    holdout: bool
    shown: dict[str, Suggestion] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    dismissed: set[str] = field(default_factory=set)


class SaleSession:
    """Thread-safe: the GUI thread, the watcher and the API thread may all call it."""

    def __init__(self, engine: SuggestionEngine | None, register: str = "1",
                 holdout_share: float = 0.0, sink: EventSink | None = None) -> None:
        self._lock = threading.RLock()
        self.engine = engine
        self.register = register
        self.holdout_share = holdout_share
        self.sink = sink or (lambda events: None)
        self._sale = _Sale(None, False)
        self._basket: tuple[str, ...] = ()
        self._view = SessionView(register, None, (), ())
        self._seq = 0

    @property
    def view(self) -> SessionView:
        return self._view

    def set_engine(self, engine: SuggestionEngine | None) -> SessionView:
        with self._lock:
            self.engine = engine
            return self._recompute(self._view.source)

    def _event(self, sug: Suggestion | None, sku: str, action: str, source: str) -> dict[str, Any]:
        eng = self.engine
        return {"ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "register": self.register,
                "sale_id": self._sale.sale_id, "sku": sku,
                "kind": sug.kind if sug else None, "rule_id": sug.rule_id if sug else None,
                "rule_set_id": eng.rule_set_id if eng else None, "action": action,
                "source": source, "holdout": self._sale.holdout}

    def apply(self, update: BasketUpdate) -> SessionView:
        """A basket source's update for this register."""
        return self.update(update.sale_id, counted_skus(update.lines), update.source)

    def update(self, sale_id: str | None, skus: list[str] | tuple[str, ...],
               source: str = "") -> SessionView:
        """A new basket state for this register (already counted: see :func:`counted_skus`)."""
        with self._lock:
            sid = None if sale_id is None else str(sale_id)
            if sid != self._sale.sale_id:
                self._sale = _Sale(sid, in_holdout(self.register, sid, self.holdout_share))
            basket = tuple(skus)
            events = []
            for sku in basket:
                sug = self._sale.shown.get(sku)
                if sug is not None and sku not in self._sale.accepted:
                    self._sale.accepted.add(sku)
                    events.append(self._event(sug, sku, "accepted", "basket"))
            self._basket = basket
            if events:
                self.sink(events)
            return self._recompute(source)

    def _recompute(self, source: str) -> SessionView:
        sale = self._sale
        sugs: list[Suggestion] = []
        if self.engine is not None and self._basket and not sale.holdout:
            sugs = self.engine.suggest(self._basket, exclude=sale.dismissed | sale.accepted)
        new = [s for s in sugs if s.sku not in sale.shown]
        for s in new:
            sale.shown[s.sku] = s
        if new:
            self.sink([self._event(s, s.sku, "shown", source) for s in new])
        self._seq += 1
        self._view = SessionView(self.register, sale.sale_id, self._basket, tuple(sugs),
                                 sale.holdout, source, self._seq)
        return self._view

    def accept(self, sku: str, source: str = "key") -> SessionView:
        """The cashier marked a suggestion accepted (F1–F3 or a tap)."""
        with self._lock:
            sug = self._sale.shown.get(sku)
            if sku not in self._sale.accepted:
                self._sale.accepted.add(sku)
                self.sink([self._event(sug, sku, "accepted", source)])
            return self._recompute(source)

    def dismiss(self, sku: str, source: str = "key") -> SessionView:
        """Dismissed items do not come back in the same sale."""
        with self._lock:
            if sku not in self._sale.dismissed:
                self._sale.dismissed.add(sku)
                self.sink([self._event(self._sale.shown.get(sku), sku, "dismissed", source)])
            return self._recompute(source)

    def add_item(self, sku: str, source: str = "scan") -> SessionView:
        """The scan box: add one item to the current (local) basket."""
        with self._lock:
            lines = tuple((s, 1.0) for s in (*self._basket, sku))
            return self.apply(BasketUpdate(self.register,
                                           self._sale.sale_id or f"local-{int(time.time())}",
                                           lines, source))

    def clear(self, source: str = "") -> SessionView:
        with self._lock:
            self._sale = _Sale(None, False)
            self._basket = ()
            return self._recompute(source)


class SessionHub:
    """One SaleSession per register, sharing an engine and an event sink.

    Bounded: it keeps the ``max_sessions`` registers used most recently; an older one is
    forgotten (its sale's dismissals with it) unless someone else still holds its session,
    as the panel holds its own register's, which then stays the one served."""

    MAX_SESSIONS = 256

    def __init__(self, engine: SuggestionEngine | None, holdout_share: float = 0.0,
                 sink: EventSink | None = None, max_sessions: int = MAX_SESSIONS) -> None:
        self._lock = threading.Lock()
        self.engine = engine
        self.holdout_share = holdout_share
        self.sink = sink
        self.max_sessions = max(1, max_sessions)
        self._sessions: OrderedDict[str, SaleSession] = OrderedDict()    # most recent last
        self._alive: weakref.WeakValueDictionary[str, SaleSession] = \
            weakref.WeakValueDictionary()                  # every session still referenced

    @property
    def n_sessions(self) -> int:
        """Sessions kept by the hub itself (at most ``max_sessions``)."""
        return len(self._sessions)

    def session(self, register: str) -> SaleSession:
        with self._lock:
            s = self._sessions.get(register) or self._alive.get(register)
            if s is None:
                s = SaleSession(self.engine, register, self.holdout_share, self.sink)
                self._alive[register] = s
            self._sessions[register] = s
            self._sessions.move_to_end(register)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return s

    def apply(self, update: BasketUpdate) -> SessionView:
        """Route a basket source's update to its register's session."""
        return self.session(update.register).apply(update)

    def set_holdout_share(self, share: float) -> None:
        """A new holdout share applies from each register's next sale."""
        with self._lock:
            self.holdout_share = share
            sessions = list(self._alive.values())
        for s in sessions:
            s.holdout_share = share

    def set_engine(self, engine: SuggestionEngine | None) -> None:
        with self._lock:
            self.engine = engine
            sessions = list(self._alive.values())
        for s in sessions:
            s.set_engine(engine)

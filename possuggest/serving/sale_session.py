"""What the cashier sees for the sale being rung up at one register: the current basket, the
suggestions, what was dismissed (never shown again in that sale) and the events to log."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
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


def counted_quantities(lines: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The quantity of each counted SKU (the lines :func:`counted_skus` counts, added up):
    what the sale's basket value and item count are worked out from."""
    out: dict[str, float] = {}
    for sku, qty in lines:
        if qty > 0 and sku:
            out[sku] = out.get(sku, 0.0) + float(qty)
    return out


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
    # accepted at the counter, waiting to be rung up; and those the last basket change rang up
    to_ring: tuple[Suggestion, ...] = ()
    rung_up: tuple[Suggestion, ...] = ()


@dataclass
class _Sale:
    sale_id: str | None
    holdout: bool
    shown: dict[str, Suggestion] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    dismissed: set[str] = field(default_factory=set)
    to_ring: dict[str, Suggestion] = field(default_factory=dict)     # see "accepted, to ring up"
    rung_up: dict[str, Suggestion] = field(default_factory=dict)
    # for the sale's record (see "the sale's record"): quantities, start, rule set serving it
    lines: dict[str, float] = field(default_factory=dict)
    started: str = ""
    rule_set_id: int | None = None


class SaleSession:
    """Thread-safe: the GUI thread, the watcher and the API thread may all call it.

    ``sink`` gets the card events; ``sale_sink`` one record per ended sale (holdout sales
    too: see :meth:`_record_sale`), e.g. an EventWriter's ``put`` for both. ``clock`` (the
    simulated till's) gives the time as wall-clock seconds (see core.context_time) for the
    events, the records and the engine's time-of-day; default: now."""

    def __init__(self, engine: SuggestionEngine | None, register: str = "1",
                 holdout_share: float = 0.0, sink: EventSink | None = None,
                 sale_sink: EventSink | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._lock = threading.RLock()
        self.engine = engine
        self.register = register
        self.holdout_share = holdout_share
        self.sink = sink or (lambda events: None)
        self.sale_sink = sale_sink
        self.clock = clock
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
        return {"ts": self._stamp(), "register": self.register,
                "sale_id": self._sale.sale_id, "sku": sku,
                "kind": sug.kind if sug else None, "rule_id": sug.rule_id if sug else None,
                "rule_set_id": eng.rule_set_id if eng else None, "action": action,
                "source": source, "holdout": self._sale.holdout}

    def apply(self, update: BasketUpdate) -> SessionView:
        """A basket source's update for this register."""
        return self.update(update.sale_id, counted_skus(update.lines), update.source,
                           counted_quantities(update.lines))

    def update(self, sale_id: str | None, skus: list[str] | tuple[str, ...],
               source: str = "", quantities: Mapping[str, float] | None = None) -> SessionView:
        """A new basket state for this register (already counted: see :func:`counted_skus`;
        ``quantities`` per SKU, see :func:`counted_quantities`, default one each)."""
        with self._lock:
            sid = None if sale_id is None else str(sale_id)
            if sid != self._sale.sale_id:
                self._end_sale()
                self._sale = _Sale(sid, in_holdout(self.register, sid, self.holdout_share))
            basket = tuple(skus)
            self._note_lines(basket, quantities)
            self._ring_up(basket)
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
            sugs = self.engine.suggest(self._basket, exclude=sale.dismissed | sale.accepted,
                                       n=self._card_room(), when=self._when())
        new = [s for s in sugs if s.sku not in sale.shown]
        for s in new:
            sale.shown[s.sku] = s
        if new:
            self.sink([self._event(s, s.sku, "shown", source) for s in new])
        self._seq += 1
        self._view = SessionView(self.register, sale.sale_id, self._basket, tuple(sugs),
                                 sale.holdout, source, self._seq, tuple(sale.to_ring.values()),
                                 tuple(sale.rung_up.values()))
        return self._view

    def accept(self, sku: str, source: str = "key") -> SessionView:
        """The cashier marked a suggestion accepted (F1–F3 or a tap)."""
        with self._lock:
            sug = self._sale.shown.get(sku)
            if sku not in self._sale.accepted:
                self._sale.accepted.add(sku)
                self.sink([self._event(sug, sku, "accepted", source)])
                if sug is not None and sku not in self._basket:
                    self._sale.to_ring[sku] = sug
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

    # -- the basket API's actions from the till side (helper H, issues 10 and 11) ----------
    def _check_sale(self, sku: str, sale_id: str | None) -> None:
        if sale_id is not None and sale_id != self._sale.sale_id:
            raise SaleMismatch(f"sale {sale_id} is not the current sale at register "
                               f"{self.register}")
        if sku not in self._sale.shown:
            raise NotInSale(f"{sku} was not suggested in the current sale at register "
                            f"{self.register}")

    def accept_shown(self, sku: str, source: str = "api",
                     sale_id: str | None = None) -> SessionView:
        """:meth:`accept` for a card suggested in this sale (and in sale ``sale_id`` when
        given); raises NotInSale / SaleMismatch otherwise, changing nothing."""
        with self._lock:
            self._check_sale(sku, sale_id)
            return self.accept(sku, source)

    def dismiss_shown(self, sku: str, source: str = "api",
                      sale_id: str | None = None) -> SessionView:
        """:meth:`dismiss` for a card suggested in this sale, like :meth:`accept_shown`."""
        with self._lock:
            self._check_sale(sku, sale_id)
            return self.dismiss(sku, source)

    def close_sale(self, sale_id: str, source: str = "api") -> SessionView:
        """The till says sale ``sale_id`` ended: end it as :meth:`clear` does. Raises
        NotInSale when it is not the sale open at this register."""
        with self._lock:
            if self._sale.sale_id is None or self._sale.sale_id != sale_id:
                raise NotInSale(f"sale {sale_id} is not open at register {self.register}")
            return self.clear(source)
    # -- end of the basket API's actions (helper H) ----------------------------------------

    def clear(self, source: str = "") -> SessionView:
        with self._lock:
            self._end_sale()
            self._sale = _Sale(None, False)
            self._basket = ()
            return self._recompute(source)

    # -- accepted, to ring up (issue 11): the panel shows an accepted item's code until the
    # sale holds it, then confirms; one never rung up is logged as 'declined' / 'not-rung'
    def withdraw(self, sku: str, source: str = "tap") -> SessionView:
        """The customer changed their mind about an item accepted at the counter."""
        with self._lock:
            sug = self._sale.to_ring.pop(sku, None)
            if sug is not None:
                self.sink([self._event(sug, sku, "declined", "not-rung")])
            return self._recompute(source)

    def _card_room(self) -> int | None:
        """How many suggestions fit beside the accepted cards (None: the policy's max)."""
        held = len(self._sale.to_ring) + len(self._sale.rung_up)
        if not held or self.engine is None:
            return None
        return max(0, self.engine.policy.max_suggestions - held)

    def _ring_up(self, basket: tuple[str, ...]) -> None:
        """A basket change: accepted items now in the sale move from to_ring to rung_up (what
        an earlier change rang up is no longer news)."""
        sale = self._sale
        if basket != self._basket:
            sale.rung_up.clear()
        for sku in basket:
            sug = sale.to_ring.pop(sku, None)
            if sug is not None:
                sale.rung_up[sku] = sug

    def _end_sale(self) -> None:
        """The sale is over: each accepted item it never held is logged as not rung up."""
        self._record_sale()
        sale = self._sale
        if sale.to_ring:
            self.sink([self._event(sug, sku, "declined", "not-rung")
                       for sku, sug in sale.to_ring.items()])
            sale.to_ring.clear()

    # -- the sale's record, for what suggestions earn (issue 9: possuggest report) ---------
    def _when(self) -> float | None:
        return None if self.clock is None else self.clock()

    def _stamp(self) -> str:
        """Now (or the clock's time) as the events' ISO text, local wall-clock time."""
        if self.clock is None:
            return time.strftime("%Y-%m-%dT%H:%M:%S")
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.clock()))

    def _note_lines(self, basket: tuple[str, ...],
                    quantities: Mapping[str, float] | None) -> None:
        sale = self._sale
        if sale.sale_id is None:
            return
        if not sale.started:
            sale.started = self._stamp()
        sale.lines = {sku: float((quantities or {}).get(sku, 1.0)) for sku in basket}
        if self.engine is not None and self.engine.rule_set_id is not None:
            sale.rule_set_id = self.engine.rule_set_id

    def _record_sale(self) -> None:
        """One record for the sale that ends, holdout or not: its basket at the end (value
        from the engine's prices x quantities, items = units), the cards shown and those
        accepted that it holds (``accepted_value``: their card prices x quantities, an
        upgrade's card price being its price difference). A sale that never held an item is
        not recorded, nor one served without a catalogue (no rules yet: no prices)."""
        sale = self._sale
        if self.sale_sink is None or sale.sale_id is None or not (sale.lines or sale.shown):
            return
        products = self.engine.products if self.engine is not None else {}
        if not products:
            return
        value = 0.0
        for sku, qty in sale.lines.items():
            prod = products.get(sku)
            value += qty * (prod.price if prod is not None else 0.0)
        taken = [sku for sku in sale.shown if sku in sale.accepted and sku in sale.lines]
        record = {"record": "sale", "register": self.register, "sale_id": sale.sale_id,
                  "started": sale.started or self._stamp(), "ended": self._stamp(),
                  "holdout": sale.holdout, "items": sum(sale.lines.values()),
                  "value": round(value, 4), "n_shown": len(sale.shown),
                  "n_accepted": len(taken),
                  "accepted_value": round(sum(sale.shown[sku].price * sale.lines[sku]
                                              for sku in taken), 4),
                  "rule_set_id": sale.rule_set_id, "source": self._view.source}
        try:
            self.sale_sink([record])
        except Exception:                   # the record is lost, never the cashier's sale
            log.exception("sale record not logged")

    def end_sale(self, source: str = "") -> SessionView:
        """End the current sale now (shutdown: its record is logged, as at a new sale)."""
        return self.clear(source)


class SessionHub:
    """One SaleSession per register, sharing an engine and an event sink.

    Bounded: it keeps the ``max_sessions`` registers used most recently; an older one is
    forgotten (its sale's dismissals with it) unless someone else still holds its session,
    as the panel holds its own register's, which then stays the one served."""

    MAX_SESSIONS = 256

    def __init__(self, engine: SuggestionEngine | None, holdout_share: float = 0.0,
                 sink: EventSink | None = None, max_sessions: int = MAX_SESSIONS,
                 sale_sink: EventSink | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._lock = threading.Lock()
        self.engine = engine
        self.holdout_share = holdout_share
        self.sink = sink
        self.sale_sink = sale_sink          # one record per ended sale (see SaleSession)
        self.clock = clock
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
                s = SaleSession(self.engine, register, self.holdout_share, self.sink,
                                self.sale_sink, self.clock)
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

    def end_sales(self) -> None:
        """Shutdown: every register's open sale ends and is recorded (call it before the
        event writer closes)."""
        with self._lock:
            sessions = list(self._alive.values())
        for s in sessions:
            s.end_sale()

    # -- the basket API (helper H) ---------------------------------------------------------
    def find(self, register: str) -> SaleSession | None:
        """The register's session if there is one; never makes one (an action for a register
        possuggest has not seen must not take a place among the kept sessions)."""
        with self._lock:
            return self._sessions.get(register) or self._alive.get(register)


class NotInSale(LookupError):
    """The till side named a card or sale that is not in the register's current sale."""


class SaleMismatch(NotInSale):
    """The till side named a sale that is not the register's current one."""
# -- end of the basket API's part (helper H) ------------------------------------------------

"""The cashier panel window: header with the options menu, banners, the current basket in
compact form, the cards (or an empty state saying what is going on), the scan box and the
status line.

It draws ``controller.session.view`` whenever the controller says something changed; every
cashier action goes back through the controller. The panel never takes the till's keyboard
focus (focus.py): it is shown without activating, and taps on cards work without focus. A tap
on the scan box borrows focus until Enter or a few idle seconds; while it has focus, F1–F3
accept card 1–3 and Esc dismisses the focused card (else the top one).

Every card stays in view: when the cards need more height than the window has (large text, a
banner), they shrink (cards.py densities) before anything would scroll. Messages that clear by
themselves (toasts) take one line in the cards' heading, no room from the cards.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QKeyEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from possuggest.serving.engine import Suggestion
from possuggest.serving.sale_session import SessionView
from possuggest.ui.cards import BARE, FULL, KEYS, SNUG, CardEntry, CardList, SuggestionCard
from possuggest.ui.controller import AppController
from possuggest.ui.focus import FocusKeeper, prepare_window
from possuggest.ui.icons import icon
from possuggest.ui.scanbox import ScanBox
from possuggest.ui.status import StatusLine
from possuggest.ui.theme import Palette, apply_theme, palette_for, repolish
from possuggest.ui.widgets import Banner, ElidedLabel, IconWidget

log = logging.getLogger(__name__)

DEFAULT_SIZE = QSize(420, 900)
MIN_SIZE = QSize(320, 480)
ACCEPT_KEYS = {Qt.Key.Key_F1: 0, Qt.Key.Key_F2: 1, Qt.Key.Key_F3: 2}
CONFIRM_MS = 3000           # how long "Rung up ✓" stays


class EmptyState(QWidget):
    """Centered icon, title, one line of explanation and an optional progress bar."""

    def __init__(self, palette: Palette, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 28, 24, 28)
        col.setSpacing(10)
        col.addStretch(1)
        self.icon = IconWidget("barcode", 56, palette.text_faint)
        col.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title.setWordWrap(True)
        col.addWidget(self.title)
        self.text = QLabel()
        self.text.setObjectName("emptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.text.setWordWrap(True)
        col.addWidget(self.text)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(180)
        col.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(2)

    def show_state(self, icon_name: str, color: str, title: str, text: str,
                   progress: float | None = None) -> None:
        self.icon.set_icon(icon_name, color)
        self.title.setText(title)
        self.text.setText(text)
        self.text.setVisible(bool(text))
        self.bar.setVisible(progress is not None)
        if progress is not None:
            self.bar.setValue(round(progress * 1000))


class PanelWindow(QWidget):
    """The top-level cashier panel."""

    rendered = Signal(int)          # the session view's seq just drawn (before paint)

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.ctx = controller.ctx
        ui = self.controller.look()
        self.setObjectName("panel")
        self.setWindowTitle("possuggest — suggestions")
        self.setMinimumSize(MIN_SIZE)
        prepare_window(self)                       # never take the till's focus
        self.palette_: Palette = palette_for(ui.theme)
        self.banners: dict[str, Banner] = {}
        self.toast_key: str | None = None
        self.view: SessionView = controller.session.view
        self._drawn_seq = -1
        self._geometry_restored = False
        self._state_file = str(self.ctx.paths.data_dir / "panel.ini")
        self.confirm_ms = CONFIRM_MS
        self._confirm_sale: str | None = None
        self._confirm_since: dict[str, float] = {}
        self._confirm_timer = QTimer(self)
        self._confirm_timer.setSingleShot(True)
        self._confirm_timer.timeout.connect(lambda: self.refresh_view(force=True))

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_header())

        self.body = QWidget()
        self.body.setObjectName("body")
        body = QVBoxLayout(self.body)
        body.setContentsMargins(14, 10, 14, 12)
        body.setSpacing(8)
        self.banner_box = QVBoxLayout()
        self.banner_box.setSpacing(6)
        body.addLayout(self.banner_box)

        # the basket, compact
        basket_head = QHBoxLayout()
        basket_head.setSpacing(6)
        self.basket_label = QLabel("CURRENT SALE")
        self.basket_label.setObjectName("sectionLabel")
        self._letter_space(self.basket_label)
        basket_head.addWidget(self.basket_label)
        basket_head.addStretch(1)
        self.basket_meta = QLabel()
        self.basket_meta.setObjectName("sectionMeta")
        basket_head.addWidget(self.basket_meta)
        body.addLayout(basket_head)
        self.basket_line = ElidedLabel(mode=Qt.TextElideMode.ElideLeft)
        self.basket_line.setObjectName("basketLine")
        body.addWidget(self.basket_line)
        self.sep = QFrame()
        self.sep.setFrameShape(QFrame.Shape.HLine)
        self.sep.setFixedHeight(1)
        body.addWidget(self.sep)

        # the cards' heading: a toast takes its right-hand side while it lasts
        sug_head = QHBoxLayout()
        sug_head.setSpacing(10)
        self.sug_label = QLabel("SUGGEST")
        self.sug_label.setObjectName("sectionLabel")
        self._letter_space(self.sug_label)
        sug_head.addWidget(self.sug_label)
        sug_head.addStretch(1)
        self.sug_hint = QLabel("F1–F3 accept · Esc dismiss")
        self.sug_hint.setObjectName("sectionMeta")
        self.sug_hint.hide()                       # only while the panel has the keyboard
        sug_head.addWidget(self.sug_hint)
        self.toast = ElidedLabel()
        self.toast.setObjectName("toast")
        self.toast.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.toast.hide()
        sug_head.addWidget(self.toast, 100)
        body.addLayout(sug_head)
        self.cards = CardList(max(3, controller.ctx.settings.policy.max_suggestions),
                              self.palette_)
        self.cards.accepted.connect(self._accept)
        self.cards.dismissed.connect(self._dismiss)
        self.cards.withdrawn.connect(self._withdraw)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("cardScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder = QWidget()
        holder.setObjectName("body")
        hold = QVBoxLayout(holder)
        hold.setContentsMargins(0, 0, 0, 0)
        hold.setSpacing(0)
        hold.addWidget(self.cards)
        hold.addStretch(1)
        self.scroll.setWidget(holder)
        self.scroll.viewport().installEventFilter(self)   # its height changes: fit again
        self._fitting = False
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(0)
        self._refit.timeout.connect(self.fit_cards)
        body.addWidget(self.scroll, 1)
        self.empty = EmptyState(self.palette_)
        body.addWidget(self.empty, 1)

        # the scan box: it borrows the keyboard only when tapped
        self.scan = ScanBox(self.palette_)
        self.focus = FocusKeeper(self, self.scan)
        self.scan.submitted.connect(self._scanned)
        self.scan.escapePressed.connect(self.dismiss_focused)
        self.scan.tapped.connect(self.focus.borrow)
        self.scan.keyed.connect(self.focus.touch)
        self.focus.lentChanged.connect(self._on_focus_lent)
        body.addWidget(self.scan)
        self.scan_hint = QLabel("")
        self.scan_hint.setObjectName("scanHint")
        body.addWidget(self.scan_hint)
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.timeout.connect(self._hide_scan_hint)
        self.scan_hint.hide()
        root.addWidget(self.body, 1)

        self.status = StatusLine(self.palette_)
        self.status.cancelRequested.connect(self.controller.cancel_task)
        root.addWidget(self.status)

        self._age_timer = QTimer(self)
        self._age_timer.timeout.connect(self._update_age)
        self._age_timer.start(30_000)

        c = controller
        c.viewChanged.connect(self.refresh_view)
        c.engineChanged.connect(self._on_engine)
        c.productsChanged.connect(self.scan.set_products)
        c.sourceChanged.connect(self._on_source)
        c.progressChanged.connect(self._on_progress)
        c.busyChanged.connect(self._on_busy)
        c.bannerShown.connect(self.show_banner)
        c.toastShown.connect(self.show_toast)
        c.bannerCleared.connect(self.hide_banner)
        c.scanResult.connect(self._on_scan_result)
        c.lookChanged.connect(self._on_look_changed)
        c.settingsChanged.connect(self._on_settings_changed)
        for source, st in c.sources.items():
            self.status.set_source(source, st.state, st.text)
        for key, (level, text) in c.banners.items():
            (self.show_toast if key in c.toasts else self.show_banner)(key, level, text)

        self.apply_look()
        self.apply_on_top(ui.always_on_top, save=False)
        self.restore_geometry()
        self._update_age()
        self.refresh_view(force=True)

    # -- building ------------------------------------------------------------------------
    def _letter_space(self, label: QLabel) -> None:
        font = label.font()
        font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 0.8)
        label.setFont(font)

    def _build_header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(14, 6, 6, 6)
        row.setSpacing(10)
        self.logo = IconWidget("spark", 26, self.palette_.accent)
        row.addWidget(self.logo)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        title = QLabel("Suggestions")
        title.setObjectName("appTitle")
        titles.addWidget(title)
        plan = self.controller.plan
        where = "Demo store" if plan.demo else plan.till_path.stem
        self.subtitle = ElidedLabel(f"Register {plan.register} · {where}")
        self.subtitle.setObjectName("appSubtitle")
        titles.addWidget(self.subtitle)
        row.addLayout(titles, 1)
        self.live = QLabel("Starting")
        self.live.setObjectName("livePill")
        row.addWidget(self.live, 0, Qt.AlignmentFlag.AlignVCenter)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("menuButton")
        self.menu_button.setToolTip("Options")
        self.menu_button.setAccessibleName("Options")
        self.menu_button.setIconSize(QSize(22, 22))
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.menu_button.setMenu(self._build_menu())
        row.addWidget(self.menu_button)
        return header

    def _build_menu(self) -> QMenu:
        ui = self.controller.look()
        menu = QMenu(self)
        # the cashier's menu: the look, the basket, closing. Manager actions (refresh,
        # rollback, settings, rules) are in the manager console, behind the manager PIN.
        menu.addSection("Look")
        group = QActionGroup(self)
        self.act_light = QAction("Light theme", self, checkable=True)
        self.act_dark = QAction("Dark theme", self, checkable=True)
        for act, name in ((self.act_light, "light"), (self.act_dark, "dark")):
            group.addAction(act)
            act.setChecked(ui.theme == name)
            act.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            menu.addAction(act)
        self.act_large = QAction("Large text", self, checkable=True)
        self.act_large.setChecked(ui.large_font)
        self.act_large.toggled.connect(self.set_large_font)
        menu.addAction(self.act_large)
        self.act_compact = QAction("Compact cards", self, checkable=True)
        self.act_compact.setChecked(ui.compact)
        self.act_compact.toggled.connect(self.set_compact)
        menu.addAction(self.act_compact)
        self.act_on_top = QAction("Always on top", self, checkable=True)
        self.act_on_top.setChecked(ui.always_on_top)
        self.act_on_top.toggled.connect(self.apply_on_top)
        menu.addAction(self.act_on_top)
        menu.addSeparator()
        self.act_clear = QAction("Clear basket", self)
        self.act_clear.triggered.connect(self._clear_basket)
        menu.addAction(self.act_clear)
        menu.addSeparator()
        self.act_console = QAction("Manager console…", self)
        self.act_console.setShortcut("Ctrl+M")
        self.act_console.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_console.triggered.connect(self.open_console)
        self.addAction(self.act_console)           # the shortcut works with the menu closed
        menu.addAction(self.act_console)
        act_quit = QAction("Close panel", self)
        act_quit.triggered.connect(self.close)
        menu.addAction(act_quit)
        return menu

    def open_console(self) -> Any:
        """Ask for the manager PIN, then open the manager console (imported only now)."""
        from possuggest.ui.console import open_console

        return open_console(self.controller, self)

    # -- look and settings ---------------------------------------------------------------
    def apply_look(self) -> None:
        ui = self.controller.look()
        self.palette_ = apply_theme(self, ui.theme, ui.large_font, ui.compact)
        p = self.palette_
        self.sep.setStyleSheet(f"background: {p.border}; border: none;")
        self.logo.set_icon("spark", p.accent)
        self.menu_button.setIcon(icon("more", p.text_muted))
        self.cards.set_palette(p)
        self.cards.set_density(SNUG if ui.compact else FULL)    # fit_cards may go tighter
        self.scan.set_palette(p)
        self.status.set_palette(p)
        for banner in self.banners.values():
            banner.set_palette(p)
        self._drawn_seq = -1
        self.refresh_view(force=True)

    def set_theme(self, theme: str) -> None:
        self.controller.set_look("theme", theme)     # remembered in the state file
        (self.act_dark if theme == "dark" else self.act_light).setChecked(True)

    def set_large_font(self, on: bool) -> None:
        self.controller.set_look("large_font", on)
        self.act_large.setChecked(on)

    def set_compact(self, on: bool) -> None:
        self.controller.set_look("compact", on)
        self.act_compact.setChecked(on)

    def _on_look_changed(self) -> None:
        ui = self.controller.look()
        self.apply_look()
        (self.act_dark if ui.theme == "dark" else self.act_light).setChecked(True)
        for act, on in ((self.act_large, ui.large_font), (self.act_compact, ui.compact)):
            if act.isChecked() != on:
                act.blockSignals(True)
                act.setChecked(on)
                act.blockSignals(False)
        if ui.always_on_top != bool(self.windowFlags() & Qt.WindowType.WindowStaysOnTopHint):
            self.apply_on_top(ui.always_on_top, save=False)

    def _on_settings_changed(self) -> None:
        plan = self.controller.plan
        where = "Demo store" if plan.demo else plan.till_path.stem
        self.subtitle.setText(f"Register {plan.register} · {where}")
        self.refresh_view(force=True)

    def apply_on_top(self, on: bool, save: bool = True) -> None:
        flag = Qt.WindowType.WindowStaysOnTopHint
        if bool(self.windowFlags() & flag) != on:
            visible = self.isVisible()
            self.focus.released()                  # the native window is made anew
            self.setWindowFlag(flag, on)
            if visible:
                self.show()                        # shown without activating
        if save:
            self.controller.set_look("always_on_top", on)
        self.act_on_top.setChecked(on)

    # -- size and place ------------------------------------------------------------------
    def _qsettings(self) -> QSettings:
        return QSettings(self._state_file, QSettings.Format.IniFormat)

    def restore_geometry(self) -> None:
        data = self._qsettings().value("window/geometry")
        if isinstance(data, QByteArray) and not data.isEmpty() and self.restoreGeometry(data):
            self._geometry_restored = True
            return
        self.resize(DEFAULT_SIZE)
        screen = QApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            h = min(DEFAULT_SIZE.height(), max(MIN_SIZE.height(), avail.height() - 24))
            self.resize(DEFAULT_SIZE.width(), h)
            self.move(avail.right() - DEFAULT_SIZE.width() - 12, avail.top() + 12)

    def save_geometry(self) -> None:
        try:
            self.ctx.paths.data_dir.mkdir(parents=True, exist_ok=True)
            qs = self._qsettings()
            qs.setValue("window/geometry", self.saveGeometry())
            qs.sync()
        except OSError as exc:  # pragma: no cover - read-only data folder
            log.warning("window place not saved: %s", exc)

    # -- drawing the session -------------------------------------------------------------
    def refresh_view(self, force: bool = False) -> None:
        view = self.controller.session.view
        if not force and view.seq == self._drawn_seq:
            return
        self.view = view
        self._drawn_seq = view.seq
        c = self.controller
        # basket
        if view.basket:
            names = [c.name_of(s) for s in view.basket]
            self.basket_line.setText("  ·  ".join(names))
            self.basket_line.setObjectName("basketLine")
            n = len(view.basket)
            sale = view.sale_id or ""
            label = "" if not sale or sale.startswith("local-") else f"Sale {sale} · "
            self.basket_meta.setText(f"{label}{n} item{'s' if n != 1 else ''}")
        else:
            self.basket_line.setText("Waiting for the first item")
            self.basket_line.setObjectName("basketEmpty")
            self.basket_meta.setText(f"Sale {view.sale_id}" if view.sale_id
                                     and not view.sale_id.startswith("local-") else "")
        repolish(self.basket_line)
        # cards (to ring up, just rung up, suggestions) or the empty state
        entries = self._entries(view)
        self.cards.show_entries(entries, view.seq)
        has = bool(entries)
        self.scroll.setVisible(has)
        self.empty.setVisible(not has)
        if has:
            self.fit_cards()
        else:
            self._show_empty(view)
        self._update_live()
        self.rendered.emit(view.seq)

    def _entries(self, view: SessionView) -> list[CardEntry]:
        """The cards to show: accepted items still to ring up, the ones just rung up (for
        ``confirm_ms``), then the suggestions keyed F1–F3."""
        if view.sale_id != self._confirm_sale:
            self._confirm_sale = view.sale_id
            self._confirm_since.clear()
        now = time.monotonic()
        done: list[Suggestion] = []
        left_ms: list[float] = []
        for s in view.rung_up:
            since = self._confirm_since.setdefault(s.sku, now)
            remaining = self.confirm_ms - (now - since) * 1000
            if remaining > 0:
                done.append(s)
                left_ms.append(remaining)
        if left_ms:
            self._confirm_timer.start(max(1, int(min(left_ms)) + 1))
        return ([CardEntry(s, "ring") for s in view.to_ring]
                + [CardEntry(s, "done") for s in done]
                + [CardEntry(s, "suggest", k if k < KEYS else None)
                   for k, s in enumerate(view.suggestions)])

    def fit_cards(self) -> None:
        """Shrink the cards (see cards.py) until all of them fit the height the window has
        for them; only a window smaller than that at the tightest density scrolls."""
        if not self.cards.visible_cards() or self._fitting:
            return
        self._fitting = True
        try:
            self._fit_cards()
        finally:
            self._fitting = False

    def _fit_cards(self) -> None:
        layout = self.layout()
        cards = self.cards
        n = len(cards.visible_cards())
        start = SNUG if self.controller.look().compact else FULL
        width = room = 0
        uniform = start
        densities = [start] * n
        for fold in (False, True):          # last of all, banners keep to one line
            for banner in self.banners.values():
                banner.set_folded(fold)
            if layout is not None:
                layout.activate()           # banners or toasts just changed: sizes now
            room = self.scroll.viewport().height()
            width = self.scroll.contentsRect().width()
            uniform = self._fit_density(start, width, room, n)
            densities = [uniform] * n
            if cards.measure(width, densities, uniform) <= room or not self.banners:
                break
        fits = cards.measure(width, densities, uniform) <= room
        if fits:
            # the height left over goes to the top cards first, a step roomier at a time
            for i in range(n):
                while densities[i] > start:
                    densities[i] -= 1
                    if cards.measure(width, densities, uniform) > room:
                        densities[i] += 1
                        break
        else:       # a window too small for every card even so: it scrolls, bar included
            width -= self.scroll.verticalScrollBar().sizeHint().width()
        cards.apply_densities(uniform, densities)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if fits
                                               else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        cards.relayout(width)

    def _fit_density(self, start: int, width: int, room: int, n: int) -> int:
        """The roomiest density from ``start`` on at which every card fits (else BARE),
        searched from the present one: a basket change seldom moves it more than a step."""
        def fits(density: int) -> bool:
            return self.cards.measure(width, [density] * n, density) <= room

        density = max(start, self.cards.density)
        if fits(density):
            while density > start and fits(density - 1):
                density -= 1
            return density
        while density < BARE and not fits(density + 1):
            density += 1
        return min(BARE, density + 1)

    def _show_empty(self, view: SessionView) -> None:
        c = self.controller
        p = self.palette_
        frac = c.progress[0]
        pct = f"{frac * 100:.0f}%"
        state = c.rules_state
        if state == "building":
            self.empty.show_state("bag", p.text_faint, f"Setting up the demo store — {pct}",
                                  "A year of sales for a hardware and garden store is being "
                                  "made up. The till simulator starts right after.", frac)
        elif state == "refreshing":
            self.empty.show_state("refresh", p.text_faint,
                                  f"Getting suggestions ready — {pct}",
                                  "Learning from past sales which items go together. Cards "
                                  "appear as soon as this is done.", frac)
        elif state == "loading":
            self.empty.show_state("refresh", p.text_faint, "Getting suggestions ready…", "")
        elif state == "failed":
            self.empty.show_state("alert", p.warn, "No suggestions",
                                  "See the message above. The manager can update them "
                                  "in the manager console once the till is reachable.")
        elif state == "none":
            self.empty.show_state("info", p.text_faint, "No suggestions yet",
                                  "The manager sets them up in the manager console: they "
                                  "are learnt from the till's past sales.")
        elif not view.basket:
            self.empty.show_state("barcode", p.text_faint, "Scan an item to see suggestions",
                                  "Ideas to offer the customer appear here as the sale is "
                                  "rung up.")
        elif view.holdout:
            self.empty.show_state("info", p.text_faint, "No suggestions for this sale",
                                  "This sale is part of the comparison group.")
        else:
            self.empty.show_state("spark", p.text_faint, "Nothing to suggest yet",
                                  "Keep ringing up — ideas appear as items are added.")

    def _update_live(self) -> None:
        c = self.controller
        till = c.sources.get("till")
        if till is not None and till.state in ("missing", "locked", "error"):
            text, state = ("Till offline", "error" if till.state == "error" else "warn")
        elif c.rules_state in ("building", "refreshing", "loading"):
            text, state = ("Starting", "")
        elif c.rules_state in ("none", "failed"):
            text, state = ("Not ready", "warn")
        else:
            text, state = ("● Live", "ok")
        if self.live.text() != text or self.live.property("state") != state:
            self.live.setText(text)
            self.live.setProperty("state", state)
            repolish(self.live)

    # -- controller signals --------------------------------------------------------------
    def _on_engine(self, engine: Any) -> None:
        self._update_age()
        self.refresh_view(force=True)

    def _on_source(self, source: str, state: str, text: str) -> None:
        self.status.set_source(source, state, text)
        self._update_live()

    def _on_progress(self, phase: str, fraction: float, message: str) -> None:
        if not phase:
            self.status.set_progress(False)
        else:
            what = {"demo": "Setting up the demo store", "refresh": "Updating suggestions",
                    "engine": "Loading suggestions"}.get(phase, "Working")
            self.status.set_progress(True, fraction, f"{what} {fraction * 100:.0f}%",
                                     cancellable=phase in ("demo", "refresh"))
        if not self.view.suggestions:
            self._show_empty(self.view)
        self._update_live()

    def _on_busy(self, busy: bool) -> None:
        # refresh and its cancel are the manager console's (ui/console/refresh_tab.py); the
        # status line's Cancel still stops the panel's own start-up work
        del busy

    def _update_age(self) -> None:
        text, stale = self.controller.rules_age()
        self.status.set_age(text, stale)
        self.status.age.setToolTip("When the suggestions were last learnt from the till's "
                                   "sales")

    def _on_scan_result(self, ok: bool, message: str) -> None:
        self.scan_hint.setText(message)
        self.scan_hint.show()
        self.scan_hint.setProperty("level", "ok" if ok else "error")
        repolish(self.scan_hint)
        self._hint_timer.start(4000)
        self.fit_cards()

    def _hide_scan_hint(self) -> None:
        self.scan_hint.hide()
        self.fit_cards()

    # -- banners and toasts --------------------------------------------------------------
    def show_banner(self, key: str, level: str, text: str) -> None:
        if key == self.toast_key:
            self._hide_toast()
        banner = self.banners.get(key)
        if banner is None:
            banner = Banner(key, level, text, self.palette_)
            banner.closed.connect(self.controller.clear_banner)
            self.banners[key] = banner
            self.banner_box.addWidget(banner)
        else:
            banner.update_message(level, text)
        banner.show()
        self.fit_cards()

    def hide_banner(self, key: str) -> None:
        if key == self.toast_key:
            self._hide_toast()
        banner = self.banners.pop(key, None)
        if banner is not None:
            banner.hide()
            self.banner_box.removeWidget(banner)
            banner.deleteLater()
            self.fit_cards()

    def show_toast(self, key: str, level: str, text: str) -> None:
        """A short message that clears by itself, on the cards' heading line."""
        if key in self.banners:                    # a lasting message becomes a toast
            self.hide_banner(key)
        self.toast_key = key
        self.toast.setText(text)
        self.toast.setToolTip(text)
        self.toast.setProperty("level", level)
        repolish(self.toast)
        self.toast.show()
        self.sug_label.hide()                      # the toast has the whole line
        self.sug_hint.hide()
        self.fit_cards()

    def _hide_toast(self) -> None:
        self.toast_key = None
        self.toast.hide()
        self.sug_label.show()
        self.sug_hint.setVisible(self.focus.lent)

    def toast_text(self) -> str:
        """The toast showing now ("" when none)."""
        return self.toast.fullText() if self.toast_key is not None else ""

    # -- the cashier's actions -----------------------------------------------------------
    def _accept(self, sku: str, source: str) -> None:
        self.controller.accept(sku, source)
        self.focus.touch()

    def _dismiss(self, sku: str, source: str) -> None:
        self.controller.dismiss(sku, source)
        self.focus.touch()

    def _withdraw(self, sku: str) -> None:
        self.controller.withdraw(sku)

    def _scanned(self, text: str) -> None:
        self.controller.scan(text)
        self.focus.give_back()                 # the next scan goes to the till again

    def _on_focus_lent(self, lent: bool) -> None:
        self.sug_hint.setVisible(lent and self.toast_key is None)
        self.cards.set_keys_shown(lent)            # F1-F3 work only while lent
        self.fit_cards()

    def accept_card(self, index: int, source: str = "key") -> bool:
        """Accept the ``index``-th suggestion card (F1 is 0)."""
        cards = self.cards.suggestion_cards()
        if 0 <= index < len(cards) and cards[index].sku is not None:
            self._accept(cards[index].sku, source)
            return True
        return False

    def focused_card(self) -> SuggestionCard | None:
        w = QApplication.focusWidget()
        while w is not None:
            if isinstance(w, SuggestionCard):
                return w
            w = w.parentWidget()
        return None

    def dismiss_focused(self) -> bool:
        """Esc: dismiss the focused suggestion card, else the top one."""
        card = self.focused_card()
        cards = self.cards.suggestion_cards()
        if card is None or card not in cards:
            card = cards[0] if cards else None
        if card is None or card.sku is None:
            return False
        self._dismiss(card.sku, "key")
        return True

    def _clear_basket(self) -> None:
        self.controller.session.clear("scan")
        self.controller.viewChanged.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        self.focus.touch()
        key = Qt.Key(event.key())
        if key in ACCEPT_KEYS and not event.modifiers():
            self.accept_card(ACCEPT_KEYS[key])
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.dismiss_focused()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- window events -------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.fit_cards()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_cards()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (event.type() == QEvent.Type.Resize and watched is self.scroll.viewport()
                and not self._fitting):
            self._refit.start()             # once, after the layout has settled
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.focus.released()              # the cashier went back to the till by a tap

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_geometry()
        self._age_timer.stop()
        self._confirm_timer.stop()
        self._refit.stop()
        self.focus.close()
        self.controller.shutdown()
        super().closeEvent(event)

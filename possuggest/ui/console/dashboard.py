"""The manager console's Earnings tab: what suggestions earned over a chosen period.

The figures are services/report.py's :func:`~possuggest.services.report.build_report` (the
same as ``possuggest report``), worked out in a worker thread from possuggest's own database:
cards shown and accepted, acceptance by kind / category / register, attach rate, basket value
of sales with suggestions against the holdout sales, the uplift per 1,000 sales with its 95%
interval and the method that made it, how many more sales the interval needs to exclude zero,
a trend per day and the best and worst cards. Charts are pyqtgraph's (imported when the tab
is first built, never at the panel's start-up). Export CSV writes ``report_csv``.

Bad input (no database yet, a damaged one, a period with no sales, a period that ends before
it starts) is said in the tab's banner; nothing crashes and nothing is half-written.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from possuggest.ui.theme import Palette, palette_for, repolish
from possuggest.ui.workers import TaskHandle, TaskThread

log = logging.getLogger(__name__)

PRESETS = (("All time", None), ("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90),
           ("Last 365 days", 365), ("Custom", -1))
BREAKDOWNS = (("By kind", "by_kind", "kind"), ("By category", "by_category", "category"),
              ("By register", "by_cashier", "register"))
DASH = "—"


def money(v: float | None, signed: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return DASH
    sign = "+" if signed and v > 0 else ("−" if v < 0 else "")
    a = abs(v)
    return f"{sign}${a:,.0f}" if a >= 1000 else f"{sign}${a:,.2f}"


def pct(v: float | None, nd: int = 1) -> str:
    return DASH if v is None else f"{100 * v:.{nd}f}%"


def count(v: int | float | None) -> str:
    return DASH if v is None else f"{v:,.0f}"


def sales_needed_text(report: Any) -> str:
    """One line on whether the uplift's interval excludes zero, and if not, the sales it needs."""
    if report.sales == 0:
        return "No sales in this period."
    need = report.sales_needed
    if report.significant:
        return "The 95% interval excludes zero: the uplift is measured."
    if need is None:
        if report.holdout_sales < 2:
            return ("The uplift cannot be measured yet: it needs holdout sales (holdout.share "
                    "in the settings).")
        return "No difference between the groups yet: more sales will tell."
    return f"{need:,} more sales needed before the interval excludes zero."


class _Tile(QFrame):
    """One headline figure: a title, the figure, a line under it."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setObjectName("tile")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 14, 10)
        lay.setSpacing(2)
        self.title = QLabel(title)
        self.title.setObjectName("tileTitle")
        self.value = QLabel(DASH)
        self.value.setObjectName("tileValue")
        self.sub = QLabel("")
        self.sub.setObjectName("tileSub")
        self.sub.setWordWrap(True)
        for w in (self.title, self.value, self.sub):
            lay.addWidget(w)

    def set(self, value: str, sub: str = "") -> None:
        self.value.setText(value)
        self.sub.setText(sub)


def _tile_qss(p: Palette) -> str:
    return f"""
QFrame#tile {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 8px; }}
QLabel#tileTitle {{ font-size: 12px; color: {p.text_faint}; font-weight: 600; }}
QLabel#tileValue {{ font-size: 22px; color: {p.text}; font-weight: 700; }}
QLabel#tileSub {{ font-size: 12px; color: {p.text_muted}; }}
"""


class DashboardTab(QWidget):
    """See the module docstring. ``reported`` is emitted once a report is drawn (charts
    included), ``failed`` with the one-line problem when none could be made."""

    reported = Signal(object)         # services.report.Report
    failed = Signal(str)

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dashboardTab")
        self.controller = controller
        self.report: Any = None
        self.charts: dict[str, Any] = {}
        self.chart_problem: str | None = None
        self._worker: TaskThread | None = None
        self._pending = False
        self._closed = False
        self._palette = palette_for(controller.look().theme)
        self._build()
        self.refresh()                  # the data first: the charts' library loads meanwhile
        self._build_charts()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        p = self._palette
        self.setStyleSheet(_tile_qss(p))
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(8)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Period"))
        self.preset = QComboBox()
        for label, _ in PRESETS:
            self.preset.addItem(label)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        bar.addWidget(self.preset)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-29))
        self.date_to = QDateEdit(today)
        for label, edit in (("from", self.date_from), ("to", self.date_to)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._dates_edited)
            bar.addWidget(QLabel(label))
            bar.addWidget(edit)
        self.show_button = QPushButton("Show")
        self.show_button.setObjectName("primary")
        self.show_button.clicked.connect(self.refresh)
        bar.addWidget(self.show_button)
        bar.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        bar.addWidget(self.progress)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export_clicked)
        bar.addWidget(self.export_button)
        root.addLayout(bar)

        self.banner = QLabel("")
        self.banner.setObjectName("status")
        self.banner.setWordWrap(True)
        self.banner.hide()
        root.addWidget(self.banner)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(0, 0, 8, 0)
        self.body.setSpacing(10)
        scroll.setWidget(body)
        root.addWidget(scroll, 1)

        grid = QGridLayout()
        grid.setSpacing(10)
        self.tiles = {key: _Tile(title) for key, title in (
            ("sales", "Sales"), ("shown", "Cards shown"), ("accepted", "Accepted"),
            ("attach", "Attach rate"), ("basket", "Average basket"),
            ("uplift", "Uplift per 1,000 sales"), ("revenue", "Accepted revenue"),
            ("items", "Items per basket"))}
        for k, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, k // 4, k % 4)
        self.body.addLayout(grid)
        self.needed = QLabel("")
        self.needed.setObjectName("sectionTitle")
        self.needed.setWordWrap(True)
        self.body.addWidget(self.needed)
        self.method = QLabel("")
        self.method.setObjectName("help")
        self.method.setWordWrap(True)
        self.body.addWidget(self.method)

        self.charts_box = QVBoxLayout()
        self.body.addLayout(self.charts_box)

        rules = QHBoxLayout()
        self.best = self._rules_table()
        self.worst = self._rules_table()
        for title, table in (("Best cards (by accepted revenue)", self.best),
                             ("Worst cards (least revenue per card shown)", self.worst)):
            col = QVBoxLayout()
            head = QLabel(title)
            head.setObjectName("sectionTitle")
            col.addWidget(head)
            col.addWidget(table)
            rules.addLayout(col)
        self.body.addLayout(rules)
        self.notes = QLabel("")
        self.notes.setObjectName("help")
        self.notes.setWordWrap(True)
        self.body.addWidget(self.notes)
        self.body.addStretch(1)

    @staticmethod
    def _rules_table() -> QTableWidget:
        t = QTableWidget(0, 6)
        t.setHorizontalHeaderLabels(["With → suggests", "Kind", "Shown", "Accepted", "Rate",
                                     "Revenue"])
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setAlternatingRowColors(True)
        t.setMinimumHeight(220)
        head = t.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 6):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        return t

    def _build_charts(self) -> None:
        """The charts (pyqtgraph). Without the library the figures and tables still show."""
        try:
            import pyqtgraph as pg  # type: ignore[import-untyped,unused-ignore]
        except Exception as exc:  # an incomplete install must not take the tab down
            self.chart_problem = f"charts unavailable ({type(exc).__name__}: {exc})"
            log.warning("earnings charts: %s", self.chart_problem)
            note = QLabel(f"Charts are not available: {exc}. The figures below are complete.")
            note.setObjectName("help")
            self.charts_box.addWidget(note)
            return
        p = self._palette

        def plot(title: str, date_axis: bool = False, height: int = 220) -> Any:
            axes = {"bottom": pg.DateAxisItem(orientation="bottom")} if date_axis else {}
            w = pg.PlotWidget(background=p.surface, axisItems=axes)
            w.setMinimumHeight(height)
            item = w.getPlotItem()
            item.setTitle(title, color=p.text, size="11pt")
            item.showGrid(x=False, y=True, alpha=0.15)
            item.setMenuEnabled(False)
            w.setMouseEnabled(x=False, y=False)
            for side in ("left", "bottom"):
                ax = item.getAxis(side)
                ax.setPen(pg.mkPen(p.border_strong))
                ax.setTextPen(pg.mkPen(p.text_muted))
            return w

        top = QHBoxLayout()
        self.charts["cards"] = plot("Cards shown and accepted per day", date_axis=True)
        self.charts["cards"].addLegend(offset=(10, 5), labelTextColor=p.text_muted)
        self.charts["uplift_day"] = plot("Basket value per day: with suggestions vs holdout",
                                         date_axis=True)
        self.charts["uplift_day"].addLegend(offset=(10, 5), labelTextColor=p.text_muted)
        self.charts["cards"].getPlotItem().setLabel("left", "cards")
        self.charts["uplift_day"].getPlotItem().setLabel("left", "$ per sale")
        top.addWidget(self.charts["cards"], 1)
        top.addWidget(self.charts["uplift_day"], 1)
        self.charts_box.addLayout(top)
        low = QHBoxLayout()
        col = QVBoxLayout()
        self.breakdown = QComboBox()
        for label, _, _ in BREAKDOWNS:
            self.breakdown.addItem(label)
        self.breakdown.currentIndexChanged.connect(lambda *_: self._draw_breakdown())
        col.addWidget(self.breakdown, 0, Qt.AlignmentFlag.AlignLeft)
        self.charts["breakdown"] = plot("Acceptance rate", height=240)
        col.addWidget(self.charts["breakdown"], 1)
        low.addLayout(col, 1)
        self.charts["ci"] = plot("Uplift per 1,000 sales, 95% interval", height=240)
        low.addWidget(self.charts["ci"], 1)
        self.charts_box.addLayout(low)

    # -- the period -----------------------------------------------------------------------------
    def period(self) -> tuple[date | None, date | None]:
        days = PRESETS[self.preset.currentIndex()][1]
        if days is None:
            return None, None
        a, b = self.date_from.date(), self.date_to.date()
        return date(a.year(), a.month(), a.day()), date(b.year(), b.month(), b.day())

    def set_period(self, date_from: date | None, date_to: date | None) -> None:
        """Show ``date_from``..``date_to`` (None and None: all time) and work it out."""
        self._quiet(True)
        if date_from is None and date_to is None:
            self.preset.setCurrentIndex(0)
        else:
            self.preset.setCurrentIndex(len(PRESETS) - 1)
            start = date_from or date(2000, 1, 1)
            end = date_to or date.today()
            self.date_from.setDate(QDate(start.year, start.month, start.day))
            self.date_to.setDate(QDate(end.year, end.month, end.day))
        self._quiet(False)
        self._dates_enabled()
        self.refresh()

    def _quiet(self, on: bool) -> None:
        for w in (self.preset, self.date_from, self.date_to):
            w.blockSignals(on)

    def _preset_chosen(self, index: int) -> None:
        days = PRESETS[index][1]
        if days is not None and days > 0:
            self._quiet(True)
            today = QDate.currentDate()
            self.date_to.setDate(today)
            self.date_from.setDate(today.addDays(-(days - 1)))
            self._quiet(False)
        self._dates_enabled()
        if days != -1:
            self.refresh()

    def _dates_edited(self, *_: object) -> None:
        self._quiet(True)
        self.preset.setCurrentIndex(len(PRESETS) - 1)
        self._quiet(False)
        self._dates_enabled()

    def _dates_enabled(self) -> None:
        on = PRESETS[self.preset.currentIndex()][1] is not None
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)

    # -- working it out ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.isRunning()

    def store_path(self) -> Path:
        return Path(self.controller.plan.rules_db)

    def refresh(self) -> None:
        """Build the report for the chosen period in a worker (a second request while one
        runs cancels it and runs after it)."""
        if self._closed:
            return
        if self._worker is not None:
            self._pending = True
            self._worker.cancel()
            return
        path = self.store_path()
        date_from, date_to = self.period()

        def job(h: TaskHandle) -> Any:
            from possuggest.services.report import build_report

            return build_report(path, date_from, date_to, progress=h.progress,
                                cancelled=h.cancelled)

        worker = TaskThread("report", job)
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.was_cancelled.connect(lambda *_: self._after_worker())
        self._worker = worker
        self.progress.setValue(0)
        self.progress.show()
        self.show_button.setEnabled(False)
        worker.start()

    def _on_progress(self, _task: str, fraction: float, message: str) -> None:
        self.progress.setValue(int(100 * fraction))
        self.progress.setToolTip(message)

    def _after_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        self.progress.hide()
        self.show_button.setEnabled(True)
        if self._pending and not self._closed:
            self._pending = False
            self.refresh()

    def _on_done(self, _task: str, report: Any) -> None:
        stale = self._pending
        self._after_worker()
        if self._closed or stale:
            return
        self.draw(report)
        self.reported.emit(report)

    def _on_failed(self, _task: str, message: str) -> None:
        stale = self._pending
        self._after_worker()
        if self._closed or stale:
            return
        self.draw(None)
        self.set_banner(f"No report: {message}", "error")
        self.failed.emit(message)

    # -- drawing --------------------------------------------------------------------------------
    def set_banner(self, text: str | None, level: str = "info") -> None:
        self.banner.setText(text or "")
        self.banner.setProperty("level", level)
        self.banner.setVisible(bool(text))
        repolish(self.banner)

    def draw(self, report: Any) -> None:
        """Show a report's figures, charts and tables (None: clear them)."""
        self.report = report
        self.export_button.setEnabled(report is not None)
        r = report
        t = self.tiles
        if r is None:
            for tile in t.values():
                tile.set(DASH)
            self.needed.setText("")
            self.method.setText("")
            self.notes.setText("")
            self._fill_rules(self.best, [])
            self._fill_rules(self.worst, [])
            self._draw_charts(None)
            return
        if r.message:
            self.set_banner(r.message[:1].upper() + r.message[1:] + ".", "warn")
        else:
            self.set_banner(None)
        share = "" if r.holdout_share is None else f" ({pct(r.holdout_share)})"
        t["sales"].set(count(r.sales), f"{count(r.holdout_sales)} holdout{share} · "
                                       f"{count(r.treated_sales)} with suggestions")
        t["shown"].set(count(r.shown), f"in {count(r.sales_with_cards)} sales")
        t["accepted"].set(count(r.accepted), f"acceptance {pct(r.acceptance_rate)} · "
                                             f"{count(r.dismissed)} dismissed")
        t["attach"].set(pct(r.attach_rate), f"{count(r.sales_with_accepted)} of "
                                            f"{count(r.sales_with_cards)} sales shown a card "
                                            "took one")
        bv, ib = r.basket_value, r.items_per_basket
        t["basket"].set(money(bv.get("treated")), f"with suggestions · holdout "
                                                  f"{money(bv.get('holdout'))}")
        ti, hi = ib.get("treated"), ib.get("holdout")
        t["items"].set(DASH if ti is None else f"{ti:.2f}",
                       f"with suggestions · holdout {DASH if hi is None else f'{hi:.2f}'}")
        up, ci = r.uplift_per_1000_sales.get("estimate"), r.uplift_per_1000_sales.get("ci95")
        upct, pci = r.uplift_pct.get("estimate"), r.uplift_pct.get("ci95")
        sub = "95% interval " + (f"{money(ci[0], True)} to {money(ci[1], True)}" if ci else DASH)
        if upct is not None:
            sub += f" · {upct:+.1f}%"
            if pci:
                sub += f" ({pci[0]:+.1f}% to {pci[1]:+.1f}%)"
        t["uplift"].set(money(up, True), sub)
        t["revenue"].set(money(r.accepted_revenue), "accepted cards at their price")
        self.needed.setText(sales_needed_text(r))
        self.method.setText(f"Method: {r.method}.")
        self.notes.setText(" ".join(n[:1].upper() + n[1:] + "." for n in r.notes))
        self._fill_rules(self.best, r.by_rule.get("best", []))
        self._fill_rules(self.worst, r.by_rule.get("worst", []))
        if PRESETS[self.preset.currentIndex()][1] is None and r.trend:
            first, last = r.trend[0]["day"], r.trend[-1]["day"]   # all time: the data's span
            self._quiet(True)
            self.date_from.setDate(QDate.fromString(first, "yyyy-MM-dd"))
            self.date_to.setDate(QDate.fromString(last, "yyyy-MM-dd"))
            self._quiet(False)
        self._draw_charts(r)

    @staticmethod
    def _fill_rules(table: QTableWidget, rows: list[dict[str, Any]]) -> None:
        table.setRowCount(len(rows))
        for k, row in enumerate(rows):
            with_names = " + ".join(row.get("with_names") or row.get("with") or []) or "(any)"
            cells = [f"{with_names} → {row.get('name') or row.get('sku')}",
                     str(row.get("kind", "")), count(row.get("shown")),
                     count(row.get("accepted")), pct(row.get("acceptance_rate")),
                     money(row.get("accepted_revenue"))]
            for c, text in enumerate(cells):
                it = QTableWidgetItem(text)
                if c >= 2:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 0 and row.get("rule_id") is not None:
                    it.setToolTip(f"rule #{row['rule_id']} of rule set #{row.get('rule_set_id')}")
                table.setItem(k, c, it)

    def _draw_charts(self, r: Any) -> None:
        if not self.charts:
            return
        import numpy as np
        import pyqtgraph as pg

        p = self._palette
        for w in self.charts.values():
            w.getPlotItem().clear()
        if r is None:
            return
        unit, trend = trend_points(r.trend)
        days = [t[0] for t in trend]
        cards = self.charts["cards"]
        vals = self.charts["uplift_day"]
        per = "per day" if unit == "day" else "per day, weekly averages"
        cards.getPlotItem().setTitle(f"Cards shown and accepted {per}", color=p.text,
                                     size="11pt")
        vals.getPlotItem().setTitle(f"Average basket {per}: with suggestions vs holdout",
                                    color=p.text, size="11pt")
        if days:
            cards.plot(days, [t[1] for t in trend], name="shown",
                       pen=pg.mkPen(p.text_faint, width=2))
            cards.plot(days, [t[2] for t in trend], name="accepted",
                       pen=pg.mkPen(p.accent, width=2))
            tx = [(t[0], t[3]) for t in trend if t[3] is not None]
            hx = [(t[0], t[4]) for t in trend if t[4] is not None]
            if tx:
                vals.plot([a for a, _ in tx], [b for _, b in tx], name="with suggestions",
                          pen=pg.mkPen(p.accent, width=2))
            if hx:
                vals.plot([a for a, _ in hx], [b for _, b in hx], name="holdout",
                          pen=pg.mkPen(p.upgrade, width=2, style=Qt.PenStyle.DashLine),
                          symbol="o", symbolSize=4, symbolBrush=p.upgrade, symbolPen=None)
        self._draw_breakdown()
        ci_plot = self.charts["ci"]
        est = r.uplift_per_1000_sales.get("estimate")
        ci = r.uplift_per_1000_sales.get("ci95")
        ci_plot.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(p.text_faint, width=1)))
        if est is not None and ci:
            colour = p.ok if r.significant else p.warn
            ci_plot.addItem(pg.ErrorBarItem(x=np.array([est]), y=np.array([0.0]),
                                            left=np.array([est - ci[0]]),
                                            right=np.array([ci[1] - est]), beam=0.2,
                                            pen=pg.mkPen(colour, width=3)))
            ci_plot.plot([est], [0.0], pen=None, symbol="o", symbolSize=12, symbolBrush=colour)
            ax = ci_plot.getPlotItem().getAxis("left")
            ax.setTicks([[(0.0, "uplift")]])
            ci_plot.getPlotItem().setYRange(-1, 1)
            lo, hi = min(0.0, ci[0]), max(0.0, ci[1])
            pad = 0.35 * (hi - lo or 1.0)
            ci_plot.getPlotItem().setXRange(lo - pad, hi + pad, padding=0)
            bv = r.basket_value
            label = pg.TextItem(f"{money(est, True)} per 1,000 sales\n"
                                f"({money(ci[0], True)} to {money(ci[1], True)})",
                                color=p.text, anchor=(0.5, 1.3))
            label.setPos(est, 0.0)
            ci_plot.addItem(label)
            ci_plot.getPlotItem().setTitle(
                f"Uplift per 1,000 sales, 95% interval · basket {money(bv.get('treated'))} "
                f"vs holdout {money(bv.get('holdout'))}", color=p.text, size="11pt")

    def _draw_breakdown(self) -> None:
        w = self.charts.get("breakdown")
        if w is None:
            return
        import pyqtgraph as pg

        p = self._palette
        item = w.getPlotItem()
        item.clear()
        r = self.report
        if r is None:
            return
        _, field, key = BREAKDOWNS[self.breakdown.currentIndex()]
        rows = [row for row in getattr(r, field) if row.get("acceptance_rate") is not None]
        rows = rows[:12]
        if not rows:
            return
        rates = [100 * float(row["acceptance_rate"]) for row in rows]
        ys = list(range(len(rows)))
        item.addItem(pg.BarGraphItem(x0=[0] * len(rows), y=ys, width=rates, height=0.6,
                                     brush=p.accent, pen=pg.mkPen(p.accent)))
        item.getAxis("left").setTicks([[(y, str(row.get(key))[:22]) for y, row in
                                        zip(ys, rows)]])
        item.getAxis("bottom").setLabel("% of cards shown that were accepted")
        item.invertY(True)
        item.setYRange(-0.6, len(rows) - 0.4, padding=0)
        item.setXRange(0, max(rates) * 1.15 or 1.0, padding=0)

    # -- export -----------------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        if self.report is None:
            return
        a, b = self.period()
        name = "possuggest-earnings" + (f"-{a}-to-{b}" if a and b else "") + ".csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export the earnings as CSV",
                                              str(Path.home() / name), "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> bool:
        """Write the shown report as CSV (atomically: a whole file or none); says how it went
        in the banner."""
        from possuggest.services.report import report_csv

        if self.report is None:
            self.set_banner("Nothing to export yet: no report is shown.", "warn")
            return False
        path = Path(path)
        tmp: str | None = None
        try:
            text = report_csv(self.report)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)          # mkstemp's file is private; an export is not
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            self.set_banner(f"Not exported: cannot write {path}: {exc.strerror or exc}", "error")
            return False
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        self.set_banner(f"Exported to {path}.", "ok")
        return True

    def shutdown(self) -> None:
        """Stop (cancel and wait for) the report worker; called when the console closes."""
        self._closed = True
        self._pending = False
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            worker.wait()
            worker.deleteLater()


def trend_points(trend: list[dict[str, Any]], max_days: int = 92
                 ) -> tuple[str, list[tuple[float, int, int, float | None, float | None]]]:
    """The report's days as chart points (time, shown, accepted, basket value with
    suggestions, holdout basket value); over a longer period, weekly averages (weeks from
    Monday): cards per day of the week's days in the period (so a partial week at either end
    is not a dip), basket values weighted by each day's sales (so a handful of holdout sales
    a day does not make the chart a comb)."""
    if len(trend) <= max_days:
        return "day", [(_day_ts(d["day"]), int(d["shown"]), int(d["accepted"]),
                        d["basket_value"].get("treated"), d["basket_value"].get("holdout"))
                       for d in trend]
    weeks: dict[str, list[float]] = {}
    for d in trend:
        day = datetime.strptime(d["day"], "%Y-%m-%d")
        monday = (day - timedelta(days=day.weekday())).strftime("%Y-%m-%d")
        w = weeks.setdefault(monday, [0.0] * 7)
        w[6] += 1
        n_h = int(d.get("holdout_sales") or 0)
        n_t = int(d.get("sales") or 0) - n_h
        bt, bh = d["basket_value"].get("treated"), d["basket_value"].get("holdout")
        w[0] += d["shown"]
        w[1] += d["accepted"]
        if bt is not None:
            w[2] += bt * n_t
            w[3] += n_t
        if bh is not None:
            w[4] += bh * n_h
            w[5] += n_h
    return "week", [(_day_ts(k), round(w[0] / w[6]), round(w[1] / w[6]),
                     w[2] / w[3] if w[3] else None, w[4] / w[5] if w[5] else None)
                    for k, w in sorted(weeks.items())]


def _day_ts(day: str) -> float:
    """A report day ("2026-06-01") as the epoch seconds of its local midnight (pyqtgraph's
    date axis shows local time)."""
    return datetime.strptime(day, "%Y-%m-%d").timestamp()


__all__ = ["DashboardTab", "sales_needed_text"]

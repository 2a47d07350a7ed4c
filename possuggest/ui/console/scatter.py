"""Seeing the rules as arulesViz users expect: support (log scale) against confidence, each
rule a point coloured by its lift; clicking a point selects that rule in the table.

Drawn with pyqtgraph (pure Python over Qt's own painting, so the bundle needs no
PySide6-Addons for QtCharts); imported only when the console's Rules tab is built, never on
the panel's start-up path. At most ``SAMPLE`` points are drawn: the rules of highest lift that
the table's filter keeps, plus the selected one (benchmarks/bench_rules_browser.py measures
why: 500,000 points take seconds to set, draw and click-test, 10,000 about a tenth of one).
"""

from __future__ import annotations

import html
import logging
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from possuggest.ui.theme import LIGHT, Palette

log = logging.getLogger(__name__)

SAMPLE = 10_000
#: lift bands, each drawn in its own colour (low → high: grey, then blue through red)
LIFT_BANDS: tuple[tuple[float, float, str], ...] = (
    (-math.inf, 1.0, "#9CA3AF"),
    (1.0, 1.5, "#1D4ED8"),
    (1.5, 2.0, "#0891B2"),
    (2.0, 3.0, "#059669"),
    (3.0, 5.0, "#65A30D"),
    (5.0, 10.0, "#D97706"),
    (10.0, 20.0, "#DC2626"),
    (20.0, math.inf, "#7E22CE"),
)


def band_label(lo: float, hi: float) -> str:
    if math.isinf(lo):
        return f"under {hi:g}"
    if math.isinf(hi):
        return f"{lo:g} and more"
    return f"{lo:g}–{hi:g}"


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks for a log10 axis of percentages between 10**lo and 10**hi: 1, 2 and 5 of each
    decade (only the decades when the range spans more than three)."""
    steps = (1.0,) if hi - lo > 3 else (1.0, 2.0, 5.0)
    out = []
    for d in range(math.floor(lo), math.ceil(hi) + 1):
        for m in steps:
            v = m * 10.0 ** d
            x = math.log10(v)
            if lo - 1e-9 <= x <= hi + 1e-9:
                out.append((x, f"{v:g}%"))
    return out


class RuleScatter(QWidget):
    """Support against confidence, coloured by lift. ``ruleClicked(rule_id)`` on a click.

    The x axis is log10 of the support in percent (drawn with labelled ticks), the y axis the
    confidence in percent."""

    ruleClicked = Signal(int)

    def __init__(self, palette: Palette = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ruleScatter")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        title = QLabel("Rules by support and confidence, coloured by lift")
        title.setObjectName("sectionTitle")
        self.caption = QLabel("")
        self.caption.setObjectName("help")
        self.caption.setWordWrap(True)
        self.key = QLabel("Lift: " + "&nbsp;&nbsp;".join(
            f"<span style='color:{c}'>&#9679;</span>&nbsp;{html.escape(band_label(lo, hi))}"
            for lo, hi, c in LIFT_BANDS))
        self.key.setObjectName("help")
        self.key.setWordWrap(True)
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget(background=palette.surface)
        self.plot.setObjectName("ruleScatterPlot")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "Support: share of all sales (log scale)")
        item.setLabel("left", "Confidence (%)")
        item.setMenuEnabled(False)
        item.hideButtons()
        for axis in ("bottom", "left"):
            ax = item.getAxis(axis)
            ax.enableAutoSIPrefix(False)
            ax.setPen(pg.mkPen(palette.border_strong))
            ax.setTextPen(pg.mkPen(palette.text_muted))
        self.bands: list[Any] = []
        for _lo, _hi, colour in LIFT_BANDS:
            band = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(colour),
                                      hoverable=False)
            band.sigClicked.connect(self._clicked)
            item.addItem(band)
            self.bands.append(band)
        self.marker = pg.ScatterPlotItem(size=16, pen=pg.mkPen(palette.text, width=2),
                                         brush=None)
        item.addItem(self.marker)
        lay.addWidget(title)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.key)
        lay.addWidget(self.caption)
        self.points = 0
        self._sample: dict[str, np.ndarray[Any, Any]] | None = None
        self._xy: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        self.selected: int | None = None

    def set_sample(self, sample: dict[str, np.ndarray[Any, Any]], shown_of: int) -> None:
        """Draw ``sample`` (columns rule_id, support, confidence, lift) of ``shown_of`` rules."""
        rid = np.asarray(sample["rule_id"])
        sup = np.asarray(sample["support"], dtype=np.float64)
        conf = np.asarray(sample["confidence"], dtype=np.float64)
        lift = np.asarray(sample["lift"], dtype=np.float64)
        ok = np.isfinite(sup) & (sup > 0) & np.isfinite(conf)   # log scale: support > 0
        rid, sup, conf, lift = rid[ok], sup[ok], conf[ok], lift[ok]
        x = np.log10(sup * 100.0)
        y = conf * 100.0
        self._sample = {"rule_id": rid, "support": sup, "confidence": conf, "lift": lift}
        self._xy = (x, y)
        for band, (lo, hi, _) in zip(self.bands, LIFT_BANDS):
            m = (lift >= lo) & (lift < hi)
            band.setData(x=x[m], y=y[m], data=rid[m])
        self.points = len(rid)
        axis = self.plot.getPlotItem().getAxis("bottom")
        if len(x):
            axis.setTicks([log_ticks(float(x.min()), float(x.max())), []])
        if len(x):
            self.plot.getPlotItem().getViewBox().autoRange(padding=0.04)   # now, not at paint
        if shown_of > self.points:
            self.caption.setText(f"The {self.points:,} rules of highest lift of the {shown_of:,} "
                                 "in the table. Click a point to find its rule.")
        else:
            self.caption.setText(f"All {self.points:,} rules in the table. Click a point to "
                                 "find its rule.")
        self.set_selected(self.selected)

    def set_selected(self, rule_id: int | None) -> None:
        """Ring the selected rule's point (when it is drawn)."""
        self.selected = rule_id
        hit = self._index(rule_id)
        if hit is None or self._xy is None:
            self.marker.setData(x=[], y=[])
        else:
            self.marker.setData(x=[self._xy[0][hit]], y=[self._xy[1][hit]])

    def _index(self, rule_id: int | None) -> int | None:
        s = self._sample
        if rule_id is None or s is None:
            return None
        hit = np.flatnonzero(s["rule_id"] == rule_id)
        return int(hit[0]) if len(hit) else None

    def point_position(self, rule_id: int) -> Any:
        """Where a rule's point is in the plot widget's viewport (a QPoint), or None."""
        hit = self._index(rule_id)
        if hit is None or self._xy is None:
            return None
        vb = self.plot.getPlotItem().getViewBox()
        scene = vb.mapViewToScene(QPointF(float(self._xy[0][hit]), float(self._xy[1][hit])))
        return self.plot.mapFromScene(scene)

    def _clicked(self, _item: Any, points: Any, *_: Any) -> None:
        if points is None or len(points) == 0:
            return
        rule_id = points[0].data()
        if rule_id is not None:
            self.ruleClicked.emit(int(rule_id))

    def set_palette(self, palette: Palette) -> None:
        self.plot.setBackground(QColor(palette.surface))


__all__ = ["LIFT_BANDS", "RuleScatter", "SAMPLE", "band_label", "log_ticks"]

"""Vector icons drawn with QPainter paths, so they stay sharp at any size and screen scale
(no bitmaps are ever scaled up). Each icon is a function painting into a square of side 1.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPainterPath, QPen, QPixmap

log = logging.getLogger(__name__)

PaintFn = Callable[[QPainter, QColor], None]


def _pen(color: QColor, width: float = 0.09) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _close(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.1))
    p.drawLine(QPointF(0.28, 0.28), QPointF(0.72, 0.72))
    p.drawLine(QPointF(0.72, 0.28), QPointF(0.28, 0.72))


def _check(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.11))
    path = QPainterPath(QPointF(0.2, 0.53))
    path.lineTo(0.42, 0.74)
    path.lineTo(0.8, 0.3)
    p.drawPath(path)


def _more(p: QPainter, c: QColor) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    for y in (0.24, 0.5, 0.76):
        p.drawEllipse(QPointF(0.5, y), 0.075, 0.075)


def _barcode(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.07))
    # corner brackets of a scanner window
    for x0, y0, dx, dy in ((0.12, 0.2, 1, 1), (0.88, 0.2, -1, 1), (0.12, 0.8, 1, -1),
                           (0.88, 0.8, -1, -1)):
        path = QPainterPath(QPointF(x0, y0 + dy * 0.14))
        path.lineTo(x0, y0)
        path.lineTo(x0 + dx * 0.14, y0)
        p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    x = 0.27
    for w in (0.05, 0.03, 0.07, 0.03, 0.05, 0.03, 0.06, 0.04):
        p.drawRect(QRectF(x, 0.36, w, 0.28))
        x += w + 0.025


def _search(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.09))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(0.44, 0.44), 0.22, 0.22)
    p.drawLine(QPointF(0.6, 0.6), QPointF(0.8, 0.8))


def _refresh(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.09))
    p.setBrush(Qt.BrushStyle.NoBrush)
    rect = QRectF(0.22, 0.22, 0.56, 0.56)
    p.drawArc(rect, 60 * 16, 280 * 16)
    a = math.radians(60)
    tip = QPointF(0.5 + 0.28 * math.cos(a), 0.5 - 0.28 * math.sin(a))
    path = QPainterPath(QPointF(tip.x() - 0.16, tip.y() - 0.04))
    path.lineTo(tip)
    path.lineTo(tip.x() - 0.02, tip.y() + 0.16)
    p.drawPath(path)


def _alert(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.08))
    p.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath(QPointF(0.5, 0.14))
    path.lineTo(0.88, 0.82)
    path.lineTo(0.12, 0.82)
    path.closeSubpath()
    p.drawPath(path)
    p.drawLine(QPointF(0.5, 0.4), QPointF(0.5, 0.58))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    p.drawEllipse(QPointF(0.5, 0.7), 0.05, 0.05)


def _info(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.08))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(0.5, 0.5), 0.36, 0.36)
    p.drawLine(QPointF(0.5, 0.46), QPointF(0.5, 0.68))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    p.drawEllipse(QPointF(0.5, 0.33), 0.05, 0.05)


def _spark(p: QPainter, c: QColor) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)

    def star(cx: float, cy: float, r: float) -> None:
        path = QPainterPath(QPointF(cx, cy - r))
        k = 0.22 * r
        path.quadTo(QPointF(cx + k, cy - k), QPointF(cx + r, cy))
        path.quadTo(QPointF(cx + k, cy + k), QPointF(cx, cy + r))
        path.quadTo(QPointF(cx - k, cy + k), QPointF(cx - r, cy))
        path.quadTo(QPointF(cx - k, cy - k), QPointF(cx, cy - r))
        p.drawPath(path)

    star(0.42, 0.56, 0.32)
    star(0.76, 0.24, 0.14)


def _bag(p: QPainter, c: QColor) -> None:
    p.setPen(_pen(c, 0.07))
    p.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath(QPointF(0.2, 0.34))
    path.lineTo(0.8, 0.34)
    path.lineTo(0.76, 0.86)
    path.lineTo(0.24, 0.86)
    path.closeSubpath()
    p.drawPath(path)
    p.drawArc(QRectF(0.36, 0.14, 0.28, 0.36), 0, 180 * 16)


ICONS: dict[str, PaintFn] = {
    "close": _close, "check": _check, "more": _more, "barcode": _barcode, "search": _search,
    "refresh": _refresh, "alert": _alert, "info": _info, "spark": _spark, "bag": _bag,
}


def paint_icon(painter: QPainter, name: str, rect: QRectF | QRect, color: QColor | str) -> None:
    """Draw icon ``name`` into ``rect`` (kept square and centred)."""
    r = QRectF(rect)
    side = min(r.width(), r.height())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.translate(r.center().x() - side / 2, r.center().y() - side / 2)
    painter.scale(side, side)
    ICONS[name](painter, QColor(color))
    painter.restore()


class VectorIconEngine(QIconEngine):
    """A QIcon that paints its path at whatever size and device pixel ratio is asked for."""

    def __init__(self, name: str, color: QColor | str, disabled: QColor | str | None = None) -> None:
        super().__init__()
        self.name = name
        self.color = QColor(color)
        self.disabled = QColor(disabled) if disabled is not None else QColor(self.color)
        if disabled is None:
            self.disabled.setAlphaF(0.4)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        color = self.disabled if mode == QIcon.Mode.Disabled else self.color
        paint_icon(painter, self.name, rect, color)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,  # noqa: N802
                     scale: float) -> QPixmap:
        pm = QPixmap(QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale))))
        pm.setDevicePixelRatio(scale)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pm

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def clone(self) -> QIconEngine:
        return VectorIconEngine(self.name, self.color, self.disabled)


def icon(name: str, color: QColor | str) -> QIcon:
    return QIcon(VectorIconEngine(name, color))

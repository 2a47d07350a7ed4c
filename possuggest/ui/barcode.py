"""A Code 128 barcode of an item's code, drawn with QPainter, so an accepted card can be scanned
straight off the screen into the till (an imaging scanner reads a screen; a laser one may not).

``code128_values`` picks code set B (printable ASCII) or C (digit pairs, for runs of digits)
and adds the check symbol; ``code128_widths`` turns them into bar and space widths in modules.
The symbol table is the standard's (ISO/IEC 15417). ``BarcodeWidget`` draws whole-pixel
modules on white with the quiet zone the standard asks for (10 modules each side), in either
theme: a scanner needs dark bars on a light ground.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

# bar, space, bar, space, bar, space widths (modules) of symbol values 0..105; 106 is Stop
PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
).split()
START_B, START_C, CODE_B, CODE_C, STOP = 104, 105, 100, 99, 106
QUIET = 10                  # modules of white each side
PAD = 6                     # px of white above and below the bars


class BarcodeError(ValueError):
    """The text cannot be drawn as Code 128 (empty, or a character outside printable ASCII)."""


def _digit_run(text: str, i: int) -> int:
    j = i
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    return j - i


def code128_values(text: str) -> list[int]:
    """Symbol values: start, data (set B, or set C for digit runs worth it), check."""
    if not text:
        raise BarcodeError("nothing to encode")
    for ch in text:
        if not 32 <= ord(ch) <= 126:
            raise BarcodeError(f"{ch!r} cannot be drawn as Code 128 (printable ASCII only)")
    out: list[int] = []
    current: int | None = None          # CODE_B or CODE_C once started

    def switch(to: int) -> None:
        nonlocal current
        if current != to:
            if current is None:
                out.append(START_B if to == CODE_B else START_C)
            else:
                out.append(to)
            current = to

    i, n = 0, len(text)
    while i < n:
        run = _digit_run(text, i)
        # set C pays off for 4+ digits at either end, or 6+ in the middle
        if run >= 6 or (run >= 4 and (i == 0 or i + run == n)):
            if run % 2:                 # an odd digit out goes in set B first
                switch(CODE_B)
                out.append(ord(text[i]) - 32)
                i += 1
                run -= 1
            switch(CODE_C)
            for k in range(i, i + run, 2):
                out.append(int(text[k:k + 2]))
            i += run
        else:
            switch(CODE_B)
            out.append(ord(text[i]) - 32)
            i += 1
    check = (out[0] + sum(pos * v for pos, v in enumerate(out[1:], start=1))) % 103
    out.append(check)
    return out


def code128_widths(text: str) -> list[int]:
    """Bar and space widths in modules (bar first), Stop included, quiet zones not."""
    widths: list[int] = []
    for v in (*code128_values(text), STOP):
        widths.extend(int(c) for c in PATTERNS[v])
    return widths


class BarcodeWidget(QWidget):
    """The code as bars (whole-pixel modules, centred, on white) at the widget's height."""

    def __init__(self, height: int = 56, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.widths: list[int] = []
        self.setFixedHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)

    def set_text(self, text: str) -> bool:
        """Show ``text``; False (and nothing drawn) when Code 128 cannot carry it."""
        self.text = text
        try:
            self.widths = code128_widths(text)
        except BarcodeError as exc:
            log.debug("no barcode for %r: %s", text, exc)
            self.widths = []
        self.update()
        return bool(self.widths)

    @property
    def modules(self) -> int:
        """The symbol's width in modules, quiet zones included."""
        return sum(self.widths) + 2 * QUIET if self.widths else 0

    def module_px(self, width: int | None = None) -> int:
        """Whole pixels per module at ``width`` (default: the widget's); 0 when it cannot fit."""
        if not self.widths:
            return 0
        return (self.width() if width is None else width) // self.modules

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(max(2 * self.modules, 10), self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(10, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        m = self.module_px()
        if m < 1:
            return
        total = self.modules * m
        x0 = (self.width() - total) // 2
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(QRectF(x0, 0, total, self.height()), QColor("#FFFFFF"))
        x = x0 + QUIET * m
        pad = min(PAD, self.height() // 4)
        bar = QColor("#000000")
        for k, w in enumerate(self.widths):
            if k % 2 == 0:
                painter.fillRect(x, pad, w * m, self.height() - 2 * pad, bar)
            x += w * m
        painter.end()

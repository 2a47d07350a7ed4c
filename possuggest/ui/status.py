"""The status line at the foot of the panel: each basket source's state (till watcher, API,
scan box) as a coloured dot, the rule set's age, and refresh progress with a Cancel button."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from possuggest.ui.theme import LIGHT, Palette, repolish
from possuggest.ui.widgets import ElidedLabel

log = logging.getLogger(__name__)

SOURCE_LABELS = {"till": "Till", "api": "API", "scanner": "Scan"}


def dot_color(palette: Palette, state: str) -> str:
    if state == "ok":
        return palette.ok
    if state in ("missing", "locked", "waiting", "starting"):
        return palette.warn
    if state == "error":
        return palette.error
    return palette.text_faint       # off


class StatusLine(QFrame):
    cancelRequested = Signal()

    def __init__(self, palette: Palette = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self._palette = palette
        self.states: dict[str, tuple[str, str]] = {}
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 6, 10, 8)
        col.setSpacing(4)

        self.progress_row = QWidget()
        prow = QHBoxLayout(self.progress_row)
        prow.setContentsMargins(0, 0, 0, 0)
        prow.setSpacing(8)
        self.progress_text = ElidedLabel()
        self.progress_text.setObjectName("progressText")
        prow.addWidget(self.progress_text, 1)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(110)
        prow.addWidget(self.bar, 0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("linkButton")
        self.cancel_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancelRequested)
        prow.addWidget(self.cancel_button, 0)
        self.progress_row.hide()
        col.addWidget(self.progress_row)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.sources = QLabel()
        self.sources.setObjectName("statusText")
        self.sources.setTextFormat(Qt.TextFormat.RichText)
        row.addWidget(self.sources, 1)
        self.age = QLabel()
        self.age.setObjectName("statusAge")
        self.age.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.age, 0)
        col.addLayout(row)

    def set_source(self, source: str, state: str, text: str) -> None:
        self.states[source] = (state, text)
        self._render()

    def _render(self) -> None:
        parts = []
        tips = []
        for key in ("till", "api", "scanner"):
            if key not in self.states:
                continue
            state, text = self.states[key]
            label = SOURCE_LABELS[key]         # the port and details are in the tooltip
            color = dot_color(self._palette, state)
            parts.append(f"<span style='color:{color}'>●</span>&nbsp;{html.escape(label)}")
            tips.append(f"{SOURCE_LABELS[key]}: {text or state}")
        self.sources.setText("&nbsp;&nbsp;".join(parts))
        self.sources.setToolTip("\n".join(tips))

    def source_text(self) -> str:
        """Plain text of the sources, e.g. for tests: "Till: till connected; API: …"."""
        return "; ".join(f"{SOURCE_LABELS[k]}: {t or s}" for k, (s, t) in self.states.items())

    def set_age(self, text: str, stale: bool) -> None:
        self.age.setText(text)
        if bool(self.age.property("stale")) != stale:
            self.age.setProperty("stale", stale)
            repolish(self.age)

    def set_progress(self, visible: bool, fraction: float = 0.0, text: str = "",
                     cancellable: bool = True) -> None:
        self.progress_row.setVisible(visible)
        if visible:
            self.progress_text.setText(text)
            self.bar.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
            self.cancel_button.setVisible(cancellable)

    def set_palette(self, palette: Palette) -> None:
        self._palette = palette
        self._render()

"""The manager PIN dialog in front of the console: on first use it asks for a new PIN twice,
afterwards for the PIN. A wrong PIN says how many tries are left; after five the dialog says
how many seconds the lock has left, counting down, and the PIN cannot be tried until then
(the lock is kept in the state file: closing and reopening the dialog does not lift it).

Hashing takes a tenth of a second or so (services/pin.py), done in the GUI thread on purpose:
the dialog is modal and the wait is short.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from possuggest.core.errors import PossuggestError
from possuggest.services.pin import MAX_DIGITS, MIN_DIGITS, PinError, PinGuard, PinLocked
from possuggest.ui.theme import repolish

log = logging.getLogger(__name__)

TEXT_WIDTH = 340


class PinDialog(QDialog):
    """``unlocked`` is emitted (and the dialog accepted) once the right PIN is entered or a
    first PIN is set; ``mode`` is "set" or "enter"."""

    unlocked = Signal()

    def __init__(self, guard: PinGuard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guard = guard
        self.console: QWidget | None = None        # set by open_console once unlocked
        self.mode = "enter" if guard.is_set() else "set"
        self.setObjectName("pinDialog")
        self.setWindowTitle("Manager PIN")
        self.setModal(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.setSpacing(10)
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        lay.addWidget(self.title)
        self.note = QLabel()
        self.note.setObjectName("help")
        self.note.setWordWrap(True)
        self.note.setFixedWidth(TEXT_WIDTH)          # wrapped text needs a known width
        lay.addWidget(self.note)
        validator = QRegularExpressionValidator(rf"\d{{0,{MAX_DIGITS}}}", self)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setValidator(validator)
        self.pin.setAccessibleName("PIN")
        self.pin.setPlaceholderText("PIN")
        lay.addWidget(self.pin)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setValidator(validator)
        self.confirm.setAccessibleName("PIN again")
        self.confirm.setPlaceholderText("The same PIN again")
        lay.addWidget(self.confirm)
        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.message.setFixedWidth(TEXT_WIDTH)
        lay.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.cancel_button)
        self.ok_button = QPushButton()
        self.ok_button.setObjectName("primary")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.submit)
        buttons.addWidget(self.ok_button)
        lay.addLayout(buttons)
        self.pin.returnPressed.connect(self._on_return)
        self.confirm.returnPressed.connect(self.submit)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_lock)
        self._apply_mode()
        self.set_message("")
        self._show_lock()

    def _apply_mode(self) -> None:
        first = self.mode == "set"
        self.title.setText("Choose a manager PIN" if first else "Manager console")
        self.note.setText(
            f"The PIN opens the manager console. Choose {MIN_DIGITS} to {MAX_DIGITS} digits "
            "that cashiers do not know; it is kept only as a salted hash." if first
            else "Enter the manager PIN.")
        self.confirm.setVisible(first)
        self.ok_button.setText("Set PIN and open" if first else "Open console")
        self.adjustSize()

    def _on_return(self) -> None:
        if self.mode == "set":
            self.confirm.setFocus()
        else:
            self.submit()

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def submit(self) -> None:
        """Check (or set) the PIN: right → unlocked; wrong → a message; locked → seconds left."""
        pin = self.pin.text()
        try:
            if self.mode == "set":
                self.guard.set_pin(pin, self.confirm.text())
            elif not self.guard.verify(pin):
                self.pin.clear()
                self.set_message(self.guard.wrong_message())
                self._show_lock()
                return
        except PinLocked:
            self.pin.clear()
            self._show_lock()
            return
        except PinError as exc:
            if self.mode == "set" and self.guard.is_set():    # set meanwhile elsewhere
                self.mode = "enter"
                self._apply_mode()
            self.set_message(str(exc))
            return
        except (PossuggestError, OSError) as exc:             # the state file cannot be saved
            self.set_message(f"The PIN cannot be saved: {exc}")
            return
        self.set_message("")
        log.info("manager console unlocked")
        self.unlocked.emit()
        self.accept()

    def _show_lock(self) -> None:
        """While locked: the seconds left, nothing can be typed; afterwards, back to normal."""
        left = self.guard.locked_for() if self.mode == "enter" else 0.0
        locked = left > 0
        self.pin.setEnabled(not locked)
        self.ok_button.setEnabled(not locked)
        self.pin.setProperty("invalid", locked)
        repolish(self.pin)
        if locked:
            self.set_message(str(PinLocked(left)))
            if not self._tick.isActive():
                self._tick.start()
        elif self._tick.isActive():
            self._tick.stop()
            self.set_message("")
            self.pin.setFocus(Qt.FocusReason.OtherFocusReason)


class ChangePinDialog(QDialog):
    """The console's "Change PIN…": the current PIN (a wrong one counts towards the lock),
    then the new one twice."""

    def __init__(self, guard: PinGuard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guard = guard
        self.setObjectName("pinDialog")
        self.setWindowTitle("Change the manager PIN")
        self.setModal(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.setSpacing(8)
        validator = QRegularExpressionValidator(rf"\d{{0,{MAX_DIGITS}}}", self)
        self.fields: list[QLineEdit] = []
        for text in ("Current PIN", "New PIN", "New PIN again"):
            label = QLabel(text)
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setValidator(validator)
            edit.setAccessibleName(text)
            lay.addWidget(label)
            lay.addWidget(edit)
            self.fields.append(edit)
        self.current, self.new, self.again = self.fields
        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        buttons.addWidget(cancel)
        self.ok_button = QPushButton("Change PIN")
        self.ok_button.setObjectName("primary")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.submit)
        buttons.addWidget(self.ok_button)
        lay.addLayout(buttons)

    def submit(self) -> None:
        try:
            self.guard.change_pin(self.current.text(), self.new.text(), self.again.text())
        except (PinError, PinLocked) as exc:
            self.current.clear()
            self.message.setText(str(exc))
            return
        except (PossuggestError, OSError) as exc:
            self.message.setText(f"The PIN cannot be saved: {exc}")
            return
        self.message.setText("")
        self.accept()


__all__ = ["ChangePinDialog", "PinDialog"]

"""The manager's own rules: "with X suggest Y" (with its reason) and upgrade paths "X → Y".

Products are picked by name or by code (a scanner types the code) with a completer over the
till's catalogue. A refusal (a product the till does not have, a rule pairing a product with
itself, an upgrade path that would loop, a missing reason) is shown next to the field it
concerns, and nothing is saved. Saving goes through services/config_edit.py, which writes the
manager's config file with its comments kept; the running panel picks it up within a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from possuggest.services.config_edit import ConfigEditError, ConfigEditor

log = logging.getLogger(__name__)


def completion_text(name: str, sku: str) -> str:
    return f"{name} · {sku}"


def resolve_product(text: str, products: Mapping[str, Any]) -> str | None:
    """A typed or scanned code, a product name (any case) or a completion ("Name · code") →
    the product's code; None when no single product matches."""
    t = text.strip()
    if not t:
        return None
    if t in products:
        return t
    if " · " in t:
        sku = t.rsplit(" · ", 1)[1].strip()
        if sku in products:
            return sku
    folded = t.casefold()
    by_code = [s for s in products if s.casefold() == folded]
    if len(by_code) == 1:
        return by_code[0]
    by_name = [s for s, p in products.items() if str(getattr(p, "name", "")).casefold() == folded]
    return by_name[0] if len(by_name) == 1 else None


class ProductPicker(QWidget):
    """A line to type a name or scan a code, with a completer and an error line below."""

    changed = Signal()

    def __init__(self, products: Mapping[str, Any], placeholder: str = "Name, code or barcode",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.products = products
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        model = QStringListModel(sorted(
            (completion_text(str(getattr(p, "name", sku)), sku) for sku, p in products.items()),
            key=str.casefold), self)
        self.completer_ = QCompleter(model, self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer_.setMaxVisibleItems(10)
        self.edit.setCompleter(self.completer_)
        self.edit.textChanged.connect(self._edited)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.hide()
        lay.addWidget(self.edit)
        lay.addWidget(self.error)

    def sku(self) -> str | None:
        return resolve_product(self.edit.text(), self.products)

    def set_sku(self, sku: str) -> None:
        p = self.products.get(sku)
        self.edit.setText(completion_text(str(getattr(p, "name", sku)), sku) if p else sku)

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.edit.setProperty("invalid", bool(message))
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)

    def check(self, what: str) -> str | None:
        """The picked product's code, or None with the reason shown below the field."""
        text = self.edit.text().strip()
        if not text:
            self.set_error(f"Pick the {what}: type part of its name or scan its code.")
            return None
        sku = self.sku()
        if sku is None:
            self.set_error(f"No product in the till's catalogue matches “{text}”.")
            return None
        self.set_error("")
        return sku

    def _edited(self, _text: str) -> None:
        if self.error.isVisible():
            self.set_error("")
        self.changed.emit()


class _EditDialog(QDialog):
    """What both dialogs share: a form, a general error line, Save and Cancel."""

    saved = Signal(str)              # what was saved, for the tab's status line

    def __init__(self, title: str, intro: str, editor: Callable[[], ConfigEditor],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("manualDialog")
        self.setMinimumWidth(560)
        self._editor = editor
        root = QVBoxLayout(self)
        lead = QLabel(intro)
        lead.setObjectName("help")
        lead.setWordWrap(True)
        root.addWidget(lead)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        root.addLayout(self.form)
        self.general = QLabel("")
        self.general.setObjectName("fieldError")
        self.general.setWordWrap(True)
        self.general.hide()
        root.addWidget(self.general)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        root.addLayout(buttons)

    def set_general(self, message: str) -> None:
        self.general.setText(message)
        self.general.setVisible(bool(message))

    def save(self) -> None:  # pragma: no cover - each dialog has its own
        raise NotImplementedError


class ManualRuleDialog(_EditDialog):
    """"With X suggest Y", shown to the cashier with the manager's own reason."""

    def __init__(self, products: Mapping[str, Any], editor: Callable[[], ConfigEditor],
                 parent: QWidget | None = None) -> None:
        super().__init__("Add manual rule",
                         "When this product is in the basket, the cashier is shown the "
                         "suggestion with your reason, before any mined suggestion.",
                         editor, parent)
        self.with_picker = ProductPicker(products)
        self.suggest_picker = ProductPicker(products)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("What the cashier says, e.g. “Most mowers need a "
                                       "catcher”")
        self.reason_error = QLabel("")
        self.reason_error.setObjectName("fieldError")
        self.reason_error.hide()
        reason_box = QWidget()
        rl = QVBoxLayout(reason_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(self.reason)
        rl.addWidget(self.reason_error)
        self.reason.textChanged.connect(lambda _t: self._reason_error(""))
        self.form.addRow("With", self.with_picker)
        self.form.addRow("Suggest", self.suggest_picker)
        self.form.addRow("Reason", reason_box)

    def _reason_error(self, message: str) -> None:
        self.reason_error.setText(message)
        self.reason_error.setVisible(bool(message))

    def save(self) -> None:
        self.set_general("")
        a = self.with_picker.check("product in the basket")
        b = self.suggest_picker.check("product to suggest")
        reason = " ".join(self.reason.text().split())
        if not reason:
            self._reason_error("Give the reason the cashier reads out.")
        if a is None or b is None or not reason:
            return
        if a == b:
            self.suggest_picker.set_error("A product cannot be suggested with itself.")
            return
        try:
            self._editor().add_manual_rule(a, b, reason)
        except ConfigEditError as exc:
            self._show_refusal(exc, a, b)
            return
        log.info("manual rule saved: with %s suggest %s", a, b)
        self.saved.emit(f"Manual rule saved: with {a} suggest {b} (“{reason}”).")
        self.accept()

    def _show_refusal(self, exc: ConfigEditError, a: str, b: str) -> None:
        msg = exc.message
        if "reason" in msg:
            self._reason_error(msg[:1].upper() + msg[1:])
        elif exc.field == "policy.manual" and repr(a) in msg and a != b:
            self.with_picker.set_error(msg[:1].upper() + msg[1:])
        elif exc.field == "policy.manual" and repr(b) in msg:
            self.suggest_picker.set_error(msg[:1].upper() + msg[1:])
        else:
            self.set_general(str(exc))


class UpgradePathDialog(_EditDialog):
    """"X → Y": when X is in the basket, Y is offered as its upgrade."""

    def __init__(self, products: Mapping[str, Any], editor: Callable[[], ConfigEditor],
                 parent: QWidget | None = None) -> None:
        super().__init__("Add upgrade path",
                         "When the first product is in the basket, the cashier is offered "
                         "the second as its upgrade, before any mined upgrade.",
                         editor, parent)
        self.from_picker = ProductPicker(products)
        self.to_picker = ProductPicker(products)
        self.form.addRow("From", self.from_picker)
        self.form.addRow("Upgrade to", self.to_picker)

    def save(self) -> None:
        self.set_general("")
        a = self.from_picker.check("product in the basket")
        b = self.to_picker.check("upgrade")
        if a is None or b is None:
            return
        if a == b:
            self.to_picker.set_error("A product cannot be an upgrade of itself.")
            return
        try:
            self._editor().add_upgrade_path(a, b)
        except ConfigEditError as exc:
            msg = exc.message[:1].upper() + exc.message[1:]
            if exc.field == "policy.upgrade_paths" and ("loop" in exc.message
                                                        or "itself" in exc.message
                                                        or "already" in exc.message
                                                        or repr(b) in exc.message):
                self.to_picker.set_error(msg)
            elif exc.field == "policy.upgrade_paths" and repr(a) in exc.message:
                self.from_picker.set_error(msg)
            else:
                self.set_general(str(exc))
            return
        log.info("upgrade path saved: %s → %s", a, b)
        self.saved.emit(f"Upgrade path saved: {a} → {b}.")
        self.accept()


__all__ = ["ManualRuleDialog", "ProductPicker", "UpgradePathDialog", "resolve_product"]

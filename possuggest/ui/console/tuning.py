"""The console's Settings tab: every policy and mining setting (and the holdout, learning from
the counter, the nightly refresh) as a form, built from the settings dataclasses themselves
(core/config.py: each field's type, limits, choices and help), so a new setting shows up here
without code.

Each field is checked as it is typed, by core.config's own validation: a bad value gets its
message right under the field and a red border. Save writes only the changed values, with
services/config_edit.py (tomlkit, the manager's comments and layout kept), and only when every
field is valid: otherwise nothing is saved. The running panel follows the file at once
(services/live.py); the form follows changes made elsewhere (a text editor) for the fields
the manager has not touched.

Pins, blocks, manual rules and upgrade paths are edited in the Rules tab.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from possuggest.core.config import Settings, settings_from_dict
from possuggest.core.errors import ConfigError
from possuggest.services.config_edit import ConfigEditError, ConfigEditor, edit_error
from possuggest.ui.theme import repolish

log = logging.getLogger(__name__)

FIELD_WIDTH = 240

#: (section, heading, what it is about) in the order shown
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("policy", "Suggestions at the till",
     "What a card needs before a cashier sees it, and how cards are ranked. Applied to the "
     "running panel as soon as they are saved."),
    ("mining", "Learning rules from the sales",
     "How rules are mined from the till's sales. Used from the next refresh."),
    ("holdout", "Measuring what suggestions earn",
     "A share of sales shows no suggestions: the control group the earnings are measured "
     "against."),
    ("feedback", "Learning from the counter",
     "What cashiers accept and dismiss changes the order of cards, and hides cards that are "
     "never taken."),
    ("refresh", "Refreshing the rules", "When a running panel mines new rules on its own."),
)
#: edited elsewhere (the Rules tab), not in this form
SKIP = {("policy", "pinned"), ("policy", "blocked"), ("policy", "manual"),
        ("policy", "upgrade_paths")}
#: plainer names than the field names, where they help
LABELS = {
    "policy.max_suggestions": "Cards shown at most",
    "policy.min_confidence": "Minimum confidence",
    "policy.min_lift": "Minimum lift",
    "policy.min_count": "Minimum baskets together",
    "policy.min_card_lift": "Minimum lift for a card",
    "policy.excluded_categories": "Categories never suggested",
    "policy.bestseller_cards": "Best-seller cards",
    "mining.window_days": "Sales window (days)",
    "mining.half_life_days": "Recency half-life (days)",
    "mining.min_count": "Minimum baskets for a rule",
    "mining.keep_rule_sets": "Rule sets kept",
    "holdout.share": "Holdout share",
    "refresh.nightly_at": "Nightly refresh at",
}


def _label(section: str, name: str) -> str:
    return LABELS.get(f"{section}.{name}") or name.replace("_", " ").capitalize()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        short = format(value, "g")
        return short if float(short) == value else repr(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class Invalid(Exception):
    """A field's text is not a value of its type (message for the user)."""


class SettingField:
    """One setting's editor, its error line and its help."""

    def __init__(self, section: str, f: dataclasses.Field[Any], tp: Any) -> None:
        self.section = section
        self.name = f.name
        self.key = f"{section}.{f.name}"
        self.tp = tp
        self.meta = dict(f.metadata)
        self.label = _label(section, f.name)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.widget: QWidget
        choices = self.meta.get("choices")
        if tp is bool:
            self.widget = QCheckBox()
        elif choices:
            combo = QComboBox()
            combo.addItems(list(choices))
            self.widget = combo
        else:
            edit = QLineEdit()
            if typing.get_origin(tp) is list:
                edit.setPlaceholderText("none (separate several with commas)")
            else:
                edit.setMaximumWidth(FIELD_WIDTH)
            self.widget = edit
        self.widget.setObjectName(f"field:{self.key}")
        self.widget.setAccessibleName(self.label)
        tip = self.meta.get("help") or ""
        limits = self._limits()
        self.widget.setToolTip("\n".join(t for t in (tip, limits, f"[{self.key}]") if t))

    def _limits(self) -> str:
        lo, hi = self.meta.get("lo"), self.meta.get("hi")
        if lo is not None and hi is not None:
            return f"from {_fmt(lo)} to {_fmt(hi)}"
        if lo is not None:
            return f"at least {_fmt(lo)}"
        if hi is not None:
            return f"at most {_fmt(hi)}"
        return ""

    # -- value in and out -------------------------------------------------------------------
    def set_value(self, value: Any) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QLineEdit):
            w.setText(_fmt(value))

    def value(self) -> Any:
        """The typed value, or Invalid with the reason."""
        w = self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentText()
        assert isinstance(w, QLineEdit)
        text = w.text().strip()
        if self.tp is int:
            if not text:
                raise Invalid("enter a whole number")
            try:
                return int(text)
            except ValueError:
                raise Invalid(f"{text!r} is not a whole number") from None
        if self.tp is float:
            if not text:
                raise Invalid("enter a number")
            try:
                return float(text)
            except ValueError:
                raise Invalid(f"{text!r} is not a number (use a point for decimals)") from None
        if typing.get_origin(self.tp) is list:
            return [part.strip() for part in text.split(",") if part.strip()]
        return w.text()

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        if isinstance(self.widget, QLineEdit):
            self.widget.setProperty("invalid", bool(message))
            repolish(self.widget)

    @property
    def has_error(self) -> bool:
        return bool(self.error.text())

    def connect(self, slot: Any) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.toggled.connect(slot)
        elif isinstance(w, QComboBox):
            w.currentTextChanged.connect(slot)
        elif isinstance(w, QLineEdit):
            w.textChanged.connect(slot)


def _fields_of(section: str) -> list[tuple[dataclasses.Field[Any], Any]]:
    cls = typing.get_type_hints(Settings)[section]
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if (section, f.name) in SKIP or dataclasses.is_dataclass(tp):
            continue
        origin = typing.get_origin(tp)
        if origin is list and typing.get_args(tp) != (str,):
            continue                         # lists of pairs and tables: the Rules tab
        out.append((f, tp))
    return out


class TuningTab(QWidget):
    """The Settings tab."""

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.editor = ConfigEditor.for_context(controller.ctx)
        self.fields: dict[str, SettingField] = {}
        self._shown: dict[str, Any] = {}      # the values last loaded (or saved) per field
        self._loading = False

        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        intro = QLabel(f"Changes are written to {self.editor.path}, keeping its comments and "
                       "layout. Hover over a setting for what it does and its limits.")
        intro.setObjectName("help")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(intro)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(0, 0, 8, 0)
        for section, heading, about in SECTIONS:
            col.addWidget(self._build_section(section, heading, about))
        col.addStretch(1)
        scroll.setWidget(body)
        root.addWidget(scroll, 1)

        bar = QHBoxLayout()
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.hide()
        bar.addWidget(self.status, 100)
        bar.addStretch(1)                          # keeps the buttons right when it is hidden
        self.revert_button = QPushButton("Undo changes")
        self.revert_button.clicked.connect(self.revert)
        bar.addWidget(self.revert_button)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.setMinimumWidth(140)
        self.save_button.clicked.connect(self.save)
        bar.addWidget(self.save_button)
        for button in (self.revert_button, self.save_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        root.addLayout(bar)

        self.load(controller.ctx.settings)
        controller.settingsChanged.connect(self._on_settings_changed)

    def _build_section(self, section: str, heading: str, about: str) -> QGroupBox:
        box = QGroupBox(heading)
        box.setObjectName(f"section:{section}")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        note = QLabel(about)
        note.setObjectName("help")
        note.setWordWrap(True)
        form.addRow(note)
        for f, tp in _fields_of(section):
            fld = SettingField(section, f, tp)
            self.fields[fld.key] = fld
            holder = QWidget()
            lay = QVBoxLayout(holder)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(2)
            lay.addWidget(fld.widget)
            lay.addWidget(fld.error)
            help_text = fld.meta.get("help")
            if help_text:
                hl = QLabel(help_text)
                hl.setObjectName("help")
                hl.setWordWrap(True)
                lay.addWidget(hl)
            form.addRow(fld.label, holder)
            fld.connect(lambda *_, k=fld.key: self._on_edit(k))
        return box

    # -- values -----------------------------------------------------------------------------
    def load(self, settings: Settings, only_untouched: bool = False) -> None:
        """Show ``settings``; ``only_untouched`` keeps what the manager is editing."""
        self._loading = True
        try:
            for key, fld in self.fields.items():
                section, name = key.split(".", 1)
                value = getattr(getattr(settings, section), name)
                if only_untouched and self._touched(key):
                    continue
                fld.set_value(value)
                fld.show_error(None)
                self._shown[key] = value
        finally:
            self._loading = False
        self._update_buttons()

    def _touched(self, key: str) -> bool:
        try:
            return bool(self.fields[key].value() != self._shown.get(key))
        except Invalid:
            return True

    def changes(self) -> dict[str, Any]:
        """The valid values the manager changed (from those loaded or last saved)."""
        out: dict[str, Any] = {}
        for key, fld in self.fields.items():
            try:
                value = fld.value()
            except Invalid:
                continue
            if value != self._shown.get(key):
                out[key] = value
        return out

    def _on_settings_changed(self) -> None:
        self.load(self.controller.ctx.settings, only_untouched=True)

    # -- checking -----------------------------------------------------------------------------
    def _on_edit(self, key: str) -> None:
        if self._loading:
            return
        self.validate(sections={key.split(".", 1)[0]})
        self.set_status(None)
        self._update_buttons()

    def validate(self, sections: set[str] | None = None) -> list[str]:
        """Check the fields (of ``sections``, default all) with core.config's validation;
        each problem is shown next to its field. Returns the keys of the bad fields."""
        bad: list[str] = []
        for section, _, _ in SECTIONS:
            if sections is not None and section not in sections:
                continue
            values: dict[str, Any] = {}
            keys = [k for k in self.fields if k.startswith(section + ".")]
            for key in keys:
                fld = self.fields[key]
                try:
                    values[fld.name] = fld.value()
                except Invalid as exc:
                    fld.show_error(str(exc))
                    bad.append(key)
                    continue
                message = _check({section: {fld.name: values[fld.name]}})
                fld.show_error(message[1] if message else None)
                if message:
                    bad.append(key)
            if not any(k.startswith(section + ".") for k in bad):
                message = _check({section: values})      # rules between fields of a section
                if message and message[0] in self.fields:
                    self.fields[message[0]].show_error(message[1])
                    bad.append(message[0])
        return bad

    def _update_buttons(self) -> None:
        n = len(self.changes())
        bad = any(f.has_error for f in self.fields.values())
        self.save_button.setText(f"Save ({n} change{'s' * (n != 1)})" if n else "Save")
        self.save_button.setEnabled(True)
        self.revert_button.setEnabled(n > 0 or bad)

    def set_status(self, text: str | None, level: str = "info") -> None:
        self.status.setText(text or "")
        self.status.setProperty("level", level)
        self.status.setVisible(bool(text))
        repolish(self.status)

    # -- saving ---------------------------------------------------------------------------------
    def save(self) -> bool:
        """Write the changed settings; nothing is written while any field is invalid."""
        bad = self.validate()
        if bad:
            names = ", ".join(self.fields[k].label for k in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            self.set_status(f"Nothing saved: {names}{more} need{'s' * (len(bad) == 1)} "
                            "fixing (see the message under each).", "error")
            return False
        changes = self.changes()
        if not changes:
            self.set_status("Nothing to save: no setting was changed.", "info")
            return False
        try:
            self.editor.set_values(changes)
        except ConfigEditError as exc:
            if exc.field in self.fields:
                self.fields[exc.field].show_error(exc.message)
            self.set_status(f"Nothing saved: {exc}", "error")
            return False
        for key, value in changes.items():
            self._shown[key] = value
        log.info("settings saved from the console: %s", ", ".join(sorted(changes)))
        reloader = getattr(self.controller, "reloader", None)
        if reloader is not None:
            reloader.poke()                        # the panel picks them up now
        n = len(changes)
        self.set_status(f"Saved {n} setting{'s' * (n != 1)} to {self.editor.path.name}; the "
                        "panel uses them now.", "ok")
        self._update_buttons()
        return True

    def revert(self) -> None:
        """Back to the settings in effect."""
        self.load(self.controller.ctx.settings)
        self.set_status(None)


def _check(data: dict[str, Any]) -> tuple[str, str] | None:
    """(setting, message) of core.config's first complaint about ``data``, else None."""
    try:
        settings_from_dict(data)
    except ConfigError as exc:
        err = edit_error(exc)
        return err.field, err.message
    return None


__all__ = ["SECTIONS", "SettingField", "TuningTab"]

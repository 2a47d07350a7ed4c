"""The console's Refresh tab: mine new rules now (progress, cancel), the nightly refresh's time,
the history of runs, and the kept rule sets, any of which can be made active again.

"Refresh now" runs the panel's own refresh task (ui/controller.py), which takes the refresh
lock and records the run (services/refresh.py): a second refresh while one runs, here or in
another process, is refused with a message saying who started the first. The history and
the rule sets are read in a worker thread; making a set active is a short transaction, also
in a worker, after which the running panel switches to it (services/live.py notices).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from possuggest.services.config_edit import ConfigEditError, ConfigEditor
from possuggest.ui.theme import repolish
from possuggest.ui.workers import TaskThread

log = logging.getLogger(__name__)

BY = {"manager": "Manager", "nightly": "Nightly", "cli": "Command line"}
OUTCOME = {"ok": "Done", "failed": "Failed", "cancelled": "Cancelled", "running": "Running…",
           "interrupted": "Interrupted"}
HISTORY_COLUMNS = ("Started", "Took", "Started by", "Outcome", "Sales read", "Rules made",
                   "Rule set", "Parameters chosen")
SET_COLUMNS = ("Rule set", "Made", "Sales", "Rules", "Sales from", "to", "In use")


def when(iso: str | None) -> str:
    """"Tue 3 Mar 14:02" from an ISO time (the text itself when it is not one)."""
    if not iso:
        return ""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{t:%a} {t.day} {t:%b %Y %H:%M}"


def took(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s"


def _num(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _item(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tip:
        item.setToolTip(tip)
    return item


def _table(columns: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(list(columns))
    t.verticalHeader().hide()
    t.setAlternatingRowColors(True)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return t


class RefreshTab(QWidget):
    """The Refresh tab."""

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.history: list[Any] = []
        self.sets: list[Any] = []
        self.pinned: int | None = None
        self.loads = 0                              # finished reads (tests wait on it)
        self._seen_run: int | None = None           # newest run already reported
        self._primed = False                        # the runs before opening are no news
        self._threads: list[TaskThread] = []
        self._done: dict[str, Callable[[Any], None]] = {}
        self._closed = False

        root = QVBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(10)
        top = QHBoxLayout()
        top.addWidget(self._build_now(), 3)
        top.addWidget(self._build_nightly(), 2)
        root.addLayout(top)
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.hide()
        root.addWidget(self.status)

        hist = QGroupBox("History of refreshes")
        hl = QVBoxLayout(hist)
        self.history_table = _table(HISTORY_COLUMNS)
        hl.addWidget(self.history_table)
        root.addWidget(hist, 3)

        sets = QGroupBox("Rule sets kept")
        sl = QVBoxLayout(sets)
        note = QLabel("The panel uses one rule set. Making an earlier one active keeps it in use: "
                      "later refreshes add new sets without using them, until you choose "
                      "'Use the newest again'.")
        note.setObjectName("help")
        note.setWordWrap(True)
        sl.addWidget(note)
        self.sets_table = _table(SET_COLUMNS)
        self.sets_table.itemSelectionChanged.connect(self._update_buttons)
        sl.addWidget(self.sets_table)
        row = QHBoxLayout()
        row.addStretch(1)
        self.release_button = QPushButton("Use the newest again")
        self.release_button.clicked.connect(self.release)
        row.addWidget(self.release_button)
        self.activate_button = QPushButton("Make active")
        self.activate_button.clicked.connect(self.make_active)
        row.addWidget(self.activate_button)
        sl.addLayout(row)
        root.addWidget(sets, 2)

        c = controller
        c.progressChanged.connect(self._on_progress)
        c.busyChanged.connect(self._on_busy)
        c.engineChanged.connect(self._on_engine)
        c.settingsChanged.connect(self._show_nightly)
        self._on_busy(c.busy)
        self._show_nightly()
        self.reload()

    # -- building -----------------------------------------------------------------------------
    def _build_now(self) -> QGroupBox:
        box = QGroupBox("Refresh now")
        lay = QVBoxLayout(box)
        note = QLabel("Reads the till's sales and mines new rules; the panel keeps suggesting "
                      "from the current rules until the new ones are ready.")
        note.setObjectName("help")
        note.setWordWrap(True)
        lay.addWidget(note)
        row = QHBoxLayout()
        self.run_button = QPushButton("Refresh now")
        self.run_button.setObjectName("primary")
        self.run_button.clicked.connect(self.refresh_now)
        row.addWidget(self.run_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("help")
        lay.addWidget(self.progress_text)
        return box

    def _build_nightly(self) -> QGroupBox:
        box = QGroupBox("Nightly refresh")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.nightly_on = QCheckBox("Every night at")
        row.addWidget(self.nightly_on)
        self.nightly_time = QTimeEdit()
        self.nightly_time.setDisplayFormat("HH:mm")
        row.addWidget(self.nightly_time)
        self.nightly_save = QPushButton("Save")
        self.nightly_save.clicked.connect(self.save_nightly)
        row.addWidget(self.nightly_save)
        row.addStretch(1)
        lay.addLayout(row)
        self.nightly_note = QLabel("")
        self.nightly_note.setObjectName("help")
        self.nightly_note.setWordWrap(True)
        lay.addWidget(self.nightly_note)
        self.nightly_on.toggled.connect(self.nightly_time.setEnabled)
        return box

    # -- status -------------------------------------------------------------------------------
    def set_status(self, text: str | None, level: str = "info") -> None:
        self.status.setText(text or "")
        self.status.setProperty("level", level)
        self.status.setVisible(bool(text))
        repolish(self.status)

    # -- refresh now ----------------------------------------------------------------------------
    def refresh_now(self) -> bool:
        """Start a refresh, or say why not (one runs already, here or elsewhere)."""
        why = self.controller.refresh_refusal()
        if why is not None or not self.controller.refresh_rules("manager"):
            self.set_status(f"Not started: {why or 'a refresh cannot start now'}.", "warn")
            return False
        self.set_status("Refreshing: reading the till's sales…", "info")
        return True

    def cancel(self) -> None:
        self.controller.cancel_task()
        self.progress_text.setText("Cancelling…")

    def _on_progress(self, phase: str, fraction: float, message: str) -> None:
        if phase in ("refresh", "engine", "demo"):
            self.progress.show()
            self.progress.setValue(int(1000 * fraction) if phase != "engine" else 1000)
            what = {"refresh": "Mining new rules", "engine": "Loading the new rules",
                    "demo": "Creating the demo store"}[phase]
            detail = f": {message}" if message and message != "done" else ""
            self.progress_text.setText(f"{what} {100 * fraction:.0f}%{detail}"
                                       if phase != "engine" else f"{what}…")
        elif not phase:
            self.progress.hide()
            self.progress_text.setText("")

    def _on_engine(self, *_: object) -> None:
        self.reload()

    def _on_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy and not self.progress.isVisible():
            self.progress.setValue(0)
            self.progress.show()
            self.progress_text.setText("Starting…")
        if not busy:
            self.progress.hide()
            self.progress_text.setText("")
            self.reload()

    # -- nightly ----------------------------------------------------------------------------------
    def _show_nightly(self) -> None:
        at = self.controller.ctx.settings.refresh.nightly_at
        self.nightly_on.setChecked(bool(at))
        self.nightly_time.setEnabled(bool(at))
        if at:
            self.nightly_time.setTime(QTime.fromString(at.zfill(5), "HH:mm"))
        nxt = self.controller.nightly.next_run(at)
        scheduler = ("Where the panel is closed at night, let the operating system's "
                     "scheduler run 'possuggest refresh --started-by nightly' instead.")
        if nxt is None:
            self.nightly_note.setText("Off: rules are refreshed when you press Refresh now. "
                                      + scheduler)
        else:
            self.nightly_note.setText(f"Next: {when(nxt.isoformat())}, while this panel is "
                                      f"running. {scheduler}")

    def save_nightly(self) -> bool:
        value = self.nightly_time.time().toString("HH:mm") if self.nightly_on.isChecked() else ""
        try:
            ConfigEditor.for_context(self.controller.ctx).set_values({"refresh.nightly_at": value})
        except ConfigEditError as exc:
            self.set_status(f"Nothing saved: {exc}", "error")
            return False
        reloader = getattr(self.controller, "reloader", None)
        if reloader is not None:
            reloader.poke()
        self.set_status(f"Nightly refresh {'at ' + value if value else 'off'}: saved.", "ok")
        return True

    # -- reading the history and the rule sets -----------------------------------------------------
    def _run(self, name: str, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        if self._closed:
            return
        task = TaskThread(f"console-{name}", lambda h: fn())
        self._done[task.task] = done
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_finished)
        self._threads.append(task)
        task.start()

    def _on_done(self, task: str, result: Any) -> None:
        done = self._done.get(task)
        if done is not None and not self._closed:
            done(result)

    def _on_failed(self, task: str, message: str) -> None:
        if not self._closed:
            self.set_status(message, "error")

    def _on_finished(self) -> None:
        task = self.sender()
        if isinstance(task, TaskThread) and task in self._threads:
            task.wait()
            self._threads.remove(task)
            task.deleteLater()

    def reload(self) -> None:
        """Read the history and the rule sets again (in a worker)."""
        c = self.controller
        if not c.serving:
            return
        plan, lock_dir = c.plan, c.ctx.paths.lock_dir

        def read() -> Any:
            from possuggest.services.refresh import refresh_history, rule_sets

            return refresh_history(plan, lock_dir), *rule_sets(plan)

        self._run("read", read, self._show)

    def _show(self, result: Any) -> None:
        self.history, self.sets, self.pinned = result
        self._fill_history()
        self._fill_sets()
        self._report_new_run()
        self.loads += 1

    def _fill_history(self) -> None:
        from possuggest.services.app import ranking_text

        t = self.history_table
        t.setRowCount(len(self.history))
        for i, r in enumerate(self.history):
            outcome = OUTCOME.get(r.outcome, r.outcome)
            if r.outcome == "ok" and r.message:
                outcome = "Saved, not in use"
            params = ranking_text(r.params) if r.params else ""
            cells = (when(r.started_at), took(r.seconds), BY.get(r.started_by, r.started_by),
                     outcome, _num(r.n_baskets), _num(r.n_rules),
                     "" if r.rule_set_id is None else str(r.rule_set_id), params)
            for j, text in enumerate(cells):
                t.setItem(i, j, _item(text, r.message if j == 3 else params if j == 7 else ""))

    def _fill_sets(self) -> None:
        t = self.sets_table
        selected = self.selected_set()
        t.setRowCount(len(self.sets))
        for i, s in enumerate(self.sets):
            use = ""
            if s.active:
                use = "In use, kept by you" if s.id == self.pinned else "In use"
            cells = (str(s.id), when(s.created_at), _num(s.n_baskets),
                     _num(s.n_cross + s.n_upgrade), when(s.window_start), when(s.window_end), use)
            for j, text in enumerate(cells):
                t.setItem(i, j, _item(text))
            if s.id == selected:
                t.selectRow(i)
        self._update_buttons()

    def _report_new_run(self) -> None:
        """Say how the newest run ended (once), whoever started it."""
        r = self.history[0] if self.history else None
        if not self._primed:
            self._primed = True
            if r is not None and r.outcome != "running":
                self._seen_run = r.id
            return
        if r is None or r.outcome == "running" or r.id == self._seen_run:
            return
        self._seen_run = r.id
        if r.outcome == "ok":
            kept = f" {r.message[0].upper()}{r.message[1:]}." if r.message else ""
            self.set_status(f"Refresh done in {took(r.seconds)}: {_num(r.n_rules)} rules from "
                            f"{_num(r.n_baskets)} sales, rule set {r.rule_set_id}.{kept}",
                            "warn" if r.message else "ok")
        elif r.outcome == "cancelled":
            self.set_status("Refresh cancelled: the rules in use did not change.", "info")
        else:
            self.set_status(f"Refresh {OUTCOME.get(r.outcome, r.outcome).lower()}: "
                            f"{r.message}", "error")

    # -- rule sets ----------------------------------------------------------------------------------
    def selected_set(self) -> int | None:
        rows = {i.row() for i in self.sets_table.selectedItems()}
        if len(rows) != 1:
            return None
        (row,) = rows
        return self.sets[row].id if 0 <= row < len(self.sets) else None

    def select_set(self, rule_set_id: int) -> None:
        for i, s in enumerate(self.sets):
            if s.id == rule_set_id:
                self.sets_table.selectRow(i)

    def _update_buttons(self) -> None:
        sel = self.selected_set()
        active = next((s.id for s in self.sets if s.active), None)
        self.activate_button.setEnabled(sel is not None and sel != active)
        self.release_button.setEnabled(self.pinned is not None)

    def make_active(self) -> None:
        """Make the selected rule set the one in use (and keep it through refreshes)."""
        target = self.selected_set()
        if target is None:
            self.set_status("Choose a rule set in the list first.", "warn")
            return
        plan = self.controller.plan

        def run() -> int:
            from possuggest.services.refresh import make_active

            make_active(plan, target)
            return target

        self._run("activate", run, self._activated)

    def _activated(self, target: int) -> None:
        self._poke()
        self.set_status(f"Rule set {target} is in use now. Refreshes keep adding new sets "
                        "without using them until you choose 'Use the newest again'.", "ok")
        self.reload()

    def release(self) -> None:
        plan = self.controller.plan

        def run() -> int:
            from possuggest.services.refresh import release_pin

            return release_pin(plan)

        self._run("release", run, self._released)

    def _released(self, newest: int) -> None:
        self._poke()
        self.set_status(f"The newest rule set ({newest}) is in use again; refreshes put their "
                        "new sets in use.", "ok")
        self.reload()

    def _poke(self) -> None:
        reloader = getattr(self.controller, "reloader", None)
        if reloader is not None:
            reloader.poke()              # the panel loads the rule set now

    # -- closing ------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Wait for this tab's reads (called when the console closes)."""
        self._closed = True
        for task in list(self._threads):
            task.cancel()
            task.wait(30_000)


__all__ = ["RefreshTab"]

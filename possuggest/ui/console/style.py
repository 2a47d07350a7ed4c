"""The manager console's look: the panel's palette (light or dark, as the panel), set for a
back-office window read at a desk: smaller type than the counter, tables, forms.

Object names the tabs may use: ``consoleHeader``, ``consoleTitle``, ``consoleSubtitle``,
``sectionTitle`` (a heading inside a tab), ``help`` (grey note under a field), ``fieldError``
(red message next to a field), ``status`` with property ``level`` = ok|info|warn|error (a line
saying what happened), and QPushButton ``primary`` (the tab's main action).
"""

from __future__ import annotations

from possuggest.ui.theme import Palette


def console_qss(p: Palette) -> str:
    return f"""
QWidget#managerConsole, QDialog#pinDialog {{ background: {p.window}; color: {p.text}; }}
QFrame#consoleHeader {{ background: {p.surface}; border-bottom: 1px solid {p.border}; }}
QLabel#consoleTitle {{ font-size: 18px; font-weight: 600; color: {p.text}; }}
QLabel#consoleSubtitle {{ font-size: 13px; color: {p.text_faint}; }}
QLabel#sectionTitle {{ font-size: 15px; font-weight: 600; color: {p.text}; padding-top: 6px; }}
QLabel#help {{ font-size: 12px; color: {p.text_faint}; }}
QLabel#fieldError {{ font-size: 12px; color: {p.error}; font-weight: 600; }}
QLabel#status {{ font-size: 13px; padding: 6px 10px; border-radius: 6px;
                 background: {p.surface_alt}; color: {p.text}; }}
QLabel#status[level="ok"] {{ background: {p.accessory_bg}; color: {p.text}; }}
QLabel#status[level="info"] {{ background: {p.info_bg}; color: {p.text}; }}
QLabel#status[level="warn"] {{ background: {p.warn_bg}; color: {p.text}; }}
QLabel#status[level="error"] {{ background: {p.error_bg}; color: {p.text}; }}
QTabWidget::pane {{ border: none; background: {p.window}; }}
QTabBar::tab {{ padding: 8px 18px; font-size: 14px; color: {p.text_muted};
                background: transparent; border: none; border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {p.text}; border-bottom: 2px solid {p.accent};
                         font-weight: 600; }}
QGroupBox {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 8px;
             margin-top: 22px; padding: 12px; font-size: 14px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px;
                    color: {p.text}; font-weight: 600; }}
QLineEdit, QComboBox, QTimeEdit, QSpinBox {{ background: {p.surface}; color: {p.text};
    border: 1px solid {p.border_strong}; border-radius: 5px; padding: 4px 6px;
    min-height: 22px; }}
QLineEdit[invalid="true"] {{ border: 2px solid {p.error}; background: {p.error_bg}; }}
QLineEdit:focus, QComboBox:focus, QTimeEdit:focus {{ border: 2px solid {p.accent}; }}
QPushButton {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border_strong};
               border-radius: 6px; padding: 6px 14px; font-size: 13px; }}
QPushButton:hover {{ background: {p.surface_alt}; }}
QPushButton:disabled {{ color: {p.text_faint}; background: {p.surface_alt}; }}
QPushButton#primary {{ background: {p.accent}; color: {p.accent_text}; border: none;
                       font-weight: 600; }}
QPushButton#primary:hover {{ background: {p.accent_hover}; }}
QPushButton#primary:disabled {{ background: {p.surface_alt}; color: {p.text_faint};
                                border: 1px solid {p.border}; }}
QTableView, QTableWidget {{ background: {p.surface}; alternate-background-color: {p.window};
    color: {p.text}; border: 1px solid {p.border}; gridline-color: {p.border};
    selection-background-color: {p.accessory_bg}; selection-color: {p.text}; }}
QHeaderView::section {{ background: {p.surface_alt}; color: {p.text_muted}; border: none;
    border-bottom: 1px solid {p.border}; padding: 5px 8px; font-weight: 600; }}
QProgressBar {{ border: 1px solid {p.border}; border-radius: 5px; background: {p.surface_alt};
                text-align: center; color: {p.text}; min-height: 18px; }}
QProgressBar::chunk {{ background: {p.accent}; border-radius: 4px; }}
QScrollArea {{ border: none; background: transparent; }}
"""


__all__ = ["console_qss"]

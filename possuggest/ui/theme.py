"""Light and dark themes for the panel: one palette per theme, turned into a Qt style sheet.

Sizes are in pixels at 1x (Qt scales them on high-DPI screens); ``large_font`` scales the
type, ``compact`` tightens spacing and touch targets a little (never below 36 px).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

FONT_FAMILIES = ["Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Roboto", "Noto Sans",
                 "Ubuntu", "Cantarell", "DejaVu Sans", "Arial", "sans-serif"]
LARGE_FONT_SCALE = 1.2


@dataclass(frozen=True)
class Palette:
    name: str
    window: str
    surface: str
    surface_alt: str
    border: str
    border_strong: str
    text: str
    text_muted: str
    text_faint: str
    accent: str
    accent_hover: str
    accent_pressed: str
    accent_text: str
    accessory: str
    accessory_bg: str
    upgrade: str
    upgrade_bg: str
    ok: str
    warn: str
    warn_bg: str
    error: str
    error_bg: str
    info: str
    info_bg: str
    shadow: str

    def color(self, key: str) -> QColor:
        return QColor(getattr(self, key))


LIGHT = Palette(
    name="light", window="#F3F4F6", surface="#FFFFFF", surface_alt="#EEF0F3",
    border="#E2E5EA", border_strong="#CBD0D8", text="#111827", text_muted="#4B5563",
    text_faint="#6B7280", accent="#0F766E", accent_hover="#115E59", accent_pressed="#134E4A",
    accent_text="#FFFFFF", accessory="#0F766E", accessory_bg="#DDF3EF", upgrade="#6D28D9",
    upgrade_bg="#EDE7FD", ok="#15803D", warn="#A16207", warn_bg="#FEF6D8", error="#B91C1C",
    error_bg="#FDE8E8", info="#1D4ED8", info_bg="#E6EEFD", shadow="#1A000000")

DARK = Palette(
    name="dark", window="#0E1115", surface="#171B21", surface_alt="#222831",
    border="#262C35", border_strong="#394250", text="#ECEFF3", text_muted="#B0B8C4",
    text_faint="#8C95A3", accent="#2DD4BF", accent_hover="#5EEAD4", accent_pressed="#14B8A6",
    accent_text="#042F2C", accessory="#5EEAD4", accessory_bg="#12302E", upgrade="#C4B5FD",
    upgrade_bg="#2A2147", ok="#4ADE80", warn="#FACC15", warn_bg="#2E2710", error="#F87171",
    error_bg="#3A1717", info="#93C5FD", info_bg="#172440", shadow="#66000000")

THEMES = {"light": LIGHT, "dark": DARK}


def palette_for(theme: str) -> Palette:
    return THEMES.get(theme, LIGHT)


def base_font(scale: float = 1.0) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPixelSize(round(13 * scale))
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return font


def build_qss(p: Palette, scale: float = 1.0, compact: bool = False) -> str:
    """The whole panel's style sheet for one palette, type scale and density."""

    def px(v: float) -> str:
        return f"{max(1, round(v * scale))}px"

    touch = 36 if compact else 44
    return f"""
QWidget#panel {{ background: {p.window}; color: {p.text}; }}
QWidget#body {{ background: {p.window}; }}
QFrame#header {{ background: {p.surface}; border-bottom: 1px solid {p.border}; }}
QLabel#appTitle {{ font-size: {px(15)}; font-weight: 700; color: {p.text}; }}
QLabel#appSubtitle {{ font-size: {px(11.5)}; color: {p.text_faint}; }}
QLabel#livePill {{ font-size: {px(11)}; font-weight: 600; color: {p.text_muted};
    background: {p.surface_alt}; border-radius: 8px; padding: 3px 10px; }}
QLabel#livePill[state="ok"] {{ color: {p.ok}; }}
QLabel#livePill[state="warn"] {{ color: {p.warn}; background: {p.warn_bg}; }}
QLabel#livePill[state="error"] {{ color: {p.error}; background: {p.error_bg}; }}
QToolButton#menuButton {{ border: none; border-radius: 8px; background: transparent;
    min-width: 40px; min-height: 40px; max-width: 40px; max-height: 40px; }}
QToolButton#menuButton:hover {{ background: {p.surface_alt}; }}
QToolButton#menuButton:pressed {{ background: {p.border}; }}
QToolButton#menuButton::menu-indicator {{ image: none; width: 0px; }}

QLabel#sectionLabel {{ font-size: {px(11)}; font-weight: 700; color: {p.text_faint}; }}
QLabel#sectionMeta {{ font-size: {px(11)}; color: {p.text_faint}; }}
QLabel#basketLine {{ font-size: {px(13.5)}; color: {p.text}; }}
QLabel#basketEmpty {{ font-size: {px(13)}; color: {p.text_faint}; }}

QLabel#badge {{ font-size: {px(10.5)}; font-weight: 700; border-radius: 4px;
    padding: 2px 7px; }}
QLabel#badge[kind="cross"] {{ color: {p.accessory}; background: {p.accessory_bg}; }}
QLabel#badge[kind="upgrade"] {{ color: {p.upgrade}; background: {p.upgrade_bg}; }}
QLabel#keycap {{ font-size: {px(11)}; font-weight: 600; color: {p.text_faint};
    border: 1px solid {p.border_strong}; border-radius: 4px; padding: 0px 5px;
    background: {p.surface}; }}
QLabel#cardName {{ font-size: {px(16 if not compact else 14.5)}; font-weight: 600;
    color: {p.text}; }}
QLabel#cardPrice {{ font-size: {px(18 if not compact else 15)}; font-weight: 700;
    color: {p.text}; }}
QLabel#cardPrice[kind="upgrade"] {{ color: {p.upgrade}; }}
QLabel#cardReason {{ font-size: {px(13.5 if not compact else 12.5)}; color: {p.text_muted}; }}
QLabel#cardStock {{ font-size: {px(12)}; color: {p.text_faint}; }}
QLabel#cardStock[low="true"] {{ color: {p.warn}; font-weight: 600; }}
QPushButton#accept {{ background: {p.accent}; color: {p.accent_text}; border: none;
    border-radius: 8px; padding: 0px 18px;
    font-size: {px(14 if not compact else 13)}; font-weight: 600; }}
QPushButton#accept:hover {{ background: {p.accent_hover}; }}
QPushButton#accept:pressed {{ background: {p.accent_pressed}; }}
QPushButton#accept[primary="false"] {{ background: {p.accessory_bg}; color: {p.accent}; }}
QPushButton#accept[primary="false"]:hover {{ background: {p.accent}; color: {p.accent_text}; }}
QToolButton#dismiss {{ border: none; border-radius: 8px; background: transparent; }}
QToolButton#dismiss:hover {{ background: {p.surface_alt}; }}
QToolButton#dismiss:pressed {{ background: {p.border}; }}

QScrollArea#cardScroll {{ background: transparent; border: none; }}
QScrollBar:vertical {{ background: transparent; width: 8px; margin: 0px; }}
QScrollBar::handle:vertical {{ background: {p.border_strong}; border-radius: 4px;
    min-height: 32px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0px; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: none; }}

QLabel#emptyTitle {{ font-size: {px(16)}; font-weight: 600; color: {p.text}; }}
QLabel#emptyText {{ font-size: {px(13)}; color: {p.text_muted}; }}

QLineEdit#scanBox {{ background: {p.surface}; color: {p.text};
    border: 1px solid {p.border_strong}; border-radius: 10px; padding: 0px 10px;
    min-height: {touch}px; font-size: {px(14)}; selection-background-color: {p.accent};
    selection-color: {p.accent_text}; }}
QLineEdit#scanBox:focus {{ border: 2px solid {p.accent}; padding: 0px 9px; }}
QLabel#scanHint {{ font-size: {px(12)}; color: {p.text_faint}; }}
QLabel#scanHint[level="error"] {{ color: {p.error}; }}
QLabel#scanHint[level="ok"] {{ color: {p.ok}; }}

QFrame#statusBar {{ background: {p.surface}; border-top: 1px solid {p.border}; }}
QLabel#statusText {{ font-size: {px(11.5)}; color: {p.text_muted}; }}
QLabel#statusAge {{ font-size: {px(11.5)}; color: {p.text_faint}; }}
QLabel#statusAge[stale="true"] {{ color: {p.warn}; }}
QLabel#progressText {{ font-size: {px(11.5)}; color: {p.text_muted}; }}
QProgressBar {{ border: none; background: {p.surface_alt}; border-radius: 3px;
    max-height: 6px; min-height: 6px; }}
QProgressBar::chunk {{ background: {p.accent}; border-radius: 3px; }}
QPushButton#linkButton {{ border: none; background: transparent; color: {p.accent};
    font-size: {px(12)}; font-weight: 600; padding: 4px 6px; min-height: 28px; }}
QPushButton#linkButton:hover {{ text-decoration: underline; }}

QFrame#banner {{ border-radius: 8px; border: 1px solid transparent; }}
QFrame#banner[level="info"] {{ background: {p.info_bg}; }}
QFrame#banner[level="warn"] {{ background: {p.warn_bg}; }}
QFrame#banner[level="error"] {{ background: {p.error_bg}; }}
QFrame#banner[level="ok"] {{ background: {p.accessory_bg}; }}
QLabel#bannerText {{ font-size: {px(12.5)}; color: {p.text}; }}
QToolButton#bannerClose {{ border: none; background: transparent; border-radius: 6px;
    min-width: 28px; min-height: 28px; }}
QToolButton#bannerClose:hover {{ background: {p.surface_alt}; }}

QMenu {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border_strong};
    border-radius: 8px; padding: 6px 0px; font-size: {px(13.5)}; }}
QMenu::item {{ padding: 9px 22px 9px 14px; }}
QMenu::item:selected {{ background: {p.surface_alt}; }}
QMenu::item:disabled {{ color: {p.text_faint}; }}
QMenu::separator {{ height: 1px; background: {p.border}; margin: 6px 10px; }}
QMenu::section {{ color: {p.text_faint}; font-size: {px(11)}; font-weight: 700;
    padding: 6px 14px 2px 14px; }}
QAbstractItemView#completerPopup {{ background: {p.surface}; color: {p.text};
    border: 1px solid {p.border_strong}; font-size: {px(13.5)}; outline: 0;
    selection-background-color: {p.surface_alt}; selection-color: {p.text}; }}
QAbstractItemView#completerPopup::item {{ min-height: 34px; padding: 0px 8px; }}
QToolTip {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border_strong};
    padding: 4px 6px; }}
"""


def qt_palette(p: Palette) -> QPalette:
    """A matching QPalette, for the few things a style sheet does not reach."""
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(p.window))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(p.text))
    pal.setColor(QPalette.ColorRole.Base, QColor(p.surface))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(p.surface_alt))
    pal.setColor(QPalette.ColorRole.Text, QColor(p.text))
    pal.setColor(QPalette.ColorRole.Button, QColor(p.surface))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(p.text))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(p.accent))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(p.accent_text))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(p.text_faint))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(p.surface))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(p.text))
    return pal


def apply_theme(window: QWidget, theme: str, large_font: bool, compact: bool) -> Palette:
    """Style the panel (and its pop-ups, via the application font and palette)."""
    p = palette_for(theme)
    scale = LARGE_FONT_SCALE if large_font else 1.0
    app = QApplication.instance()
    font = base_font(scale)
    if isinstance(app, QApplication):
        app.setFont(font)
        app.setPalette(qt_palette(p))
    window.setFont(font)
    window.setPalette(qt_palette(p))
    window.setStyleSheet(build_qss(p, scale, compact))
    log.debug("theme %s, scale %.2f, compact %s", p.name, scale, compact)
    return p


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property (kind, level, state) changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()

"""Light and dark themes for the panel: one palette per theme, turned into a Qt style sheet.

Sizes are in pixels at 100% scale (Qt scales them on high-DPI screens), chosen for a cashier
reading a till-side screen at about 70 cm (``TYPE`` below; the README shows the sums). "Large
text" scales the type by ``LARGE_FONT_SCALE``; compact cards keep the type and only tighten the
layout. ``TEXT_PAIRS`` lists every text colour the style sheet uses with the background it sits
on, so a test can check each meets WCAG AA contrast (4.5:1) in both themes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

FONT_FAMILIES = ["Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Roboto", "Noto Sans",
                 "Ubuntu", "Cantarell", "DejaVu Sans", "Arial", "sans-serif"]
CODE_FAMILIES = ["JetBrains Mono", "Cascadia Mono", "Consolas", "SF Mono", "Menlo",
                 "DejaVu Sans Mono", "Liberation Mono", "monospace"]
LARGE_FONT_SCALE = 1.5
# labels and the window's chrome (badges, key caps, title, status line, section labels, menu)
# grow less, so that what the cashier reads (names, prices, reasons, item codes, basket, scan
# box, messages) can take the full 1.5x in a narrow panel
CHROME = frozenset({"badge", "keycap", "title", "subtitle", "pill", "section", "meta",
                    "status", "menu"})
CHROME_SCALE_MAX = 1.25

# Type sizes (px at 100% scale). At 70 cm on a 96 dpi screen one px subtends 1.3 arc minutes;
# ISO 9241-303 asks 16' of capital height at least for text that must be read, 20-22'
# preferred: a name's capitals (about 0.73 of 22 px) come to about 21', a reason's to 17'.
TYPE: dict[str, float] = {
    "name": 22, "price": 22, "reason": 18, "badge": 17, "keycap": 15, "stock": 17,
    "accept": 18, "code": 30, "done": 20,
    "title": 18, "subtitle": 15, "pill": 15, "section": 14, "meta": 15, "basket": 18,
    "toast": 16, "banner": 16, "empty_title": 22, "empty_text": 17, "scan": 18,
    "scan_hint": 16, "status": 14, "menu": 16, "base": 15,
}
VIEW_DISTANCE_MM = 700.0
REFERENCE_PX_MM = 25.4 / 96        # one px at 100% scale on a 96 dpi screen


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
    text_faint="#5B6472", accent="#0F766E", accent_hover="#115E59", accent_pressed="#134E4A",
    accent_text="#FFFFFF", accessory="#0F766E", accessory_bg="#DDF3EF", upgrade="#6D28D9",
    upgrade_bg="#EDE7FD", ok="#127035", warn="#8F5A06", warn_bg="#FEF6D8", error="#B91C1C",
    error_bg="#FDE8E8", info="#1D4ED8", info_bg="#E6EEFD", shadow="#1A000000")

DARK = Palette(
    name="dark", window="#0E1115", surface="#171B21", surface_alt="#222831",
    border="#262C35", border_strong="#394250", text="#ECEFF3", text_muted="#B0B8C4",
    text_faint="#8C95A3", accent="#2DD4BF", accent_hover="#5EEAD4", accent_pressed="#14B8A6",
    accent_text="#042F2C", accessory="#5EEAD4", accessory_bg="#12302E", upgrade="#C4B5FD",
    upgrade_bg="#2A2147", ok="#4ADE80", warn="#FACC15", warn_bg="#2E2710", error="#F87171",
    error_bg="#3A1717", info="#93C5FD", info_bg="#172440", shadow="#66000000")

THEMES = {"light": LIGHT, "dark": DARK}

# (what, text colour, background) for every text the style sheet colours; see build_qss
TEXT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("panel text", "text", "window"),
    ("header title", "text", "surface"),
    ("header subtitle", "text_faint", "surface"),
    ("live pill", "text_muted", "surface_alt"),
    ("live pill ok", "ok", "surface_alt"),
    ("live pill warn", "warn", "warn_bg"),
    ("live pill error", "error", "error_bg"),
    ("section label and meta", "text_faint", "window"),
    ("basket line", "text", "window"),
    ("empty basket", "text_faint", "window"),
    ("toast ok", "ok", "window"),
    ("toast info", "info", "window"),
    ("toast warn", "warn", "window"),
    ("toast error", "error", "window"),
    ("accessory badge", "accessory", "accessory_bg"),
    ("upgrade badge", "upgrade", "upgrade_bg"),
    ("ring-up badge", "accent_text", "accent"),
    ("rung-up badge", "ok", "surface_alt"),
    ("key cap", "text_faint", "surface"),
    ("card name, price, item code", "text", "surface"),
    ("upgrade price", "upgrade", "surface"),
    ("reason", "text_muted", "surface"),
    ("stock", "text_faint", "surface"),
    ("low stock", "warn", "surface"),
    ("rung up", "ok", "surface"),
    ("accept button", "accent_text", "accent"),
    ("accept button hovered", "accent_text", "accent_hover"),
    ("accept button pressed", "accent_text", "accent_pressed"),
    ("second accept button", "accent", "accessory_bg"),
    ("empty state title", "text", "window"),
    ("empty state text", "text_muted", "window"),
    ("scan box", "text", "surface"),
    ("scan box placeholder", "text_faint", "surface"),
    ("scan box selection", "accent_text", "accent"),
    ("scan hint", "text_faint", "window"),
    ("scan hint error", "error", "window"),
    ("scan hint ok", "ok", "window"),
    ("status line", "text_muted", "surface"),
    ("rules age", "text_faint", "surface"),
    ("rules age stale", "warn", "surface"),
    ("status dot ok", "ok", "surface"),
    ("status dot warn", "warn", "surface"),
    ("status dot error", "error", "surface"),
    ("cancel link", "accent", "surface"),
    ("banner info", "text", "info_bg"),
    ("banner warn", "text", "warn_bg"),
    ("banner error", "text", "error_bg"),
    ("banner ok", "text", "accessory_bg"),
    ("menu", "text", "surface"),
    ("menu selected", "text", "surface_alt"),
    ("menu disabled and section", "text_faint", "surface"),
    ("tooltip", "text", "surface"),
)


def palette_for(theme: str) -> Palette:
    return THEMES.get(theme, LIGHT)


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#RRGGBB`` (an alpha prefix is ignored)."""
    h = color.lstrip("#")[-6:]
    chans = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    a, b = relative_luminance(fg), relative_luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def base_font(scale: float = 1.0) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPixelSize(round(TYPE["base"] * scale))
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return font


def build_qss(p: Palette, scale: float = 1.0, compact: bool = False) -> str:
    """The whole panel's style sheet for one palette and type scale. Every ``color`` here
    has its pair in ``TEXT_PAIRS``."""

    def px(role: str) -> str:
        k = min(scale, CHROME_SCALE_MAX) if role in CHROME else scale
        return f"{max(1, round(TYPE[role] * k))}px"

    touch = 44
    scan_h = max(48, round(TYPE["scan"] * scale * 2.2))
    code_families = ", ".join(f'"{f}"' for f in CODE_FAMILIES[:-1]) + ", monospace"
    return f"""
QWidget#panel {{ background: {p.window}; color: {p.text}; }}
QWidget#body {{ background: {p.window}; }}
QFrame#header {{ background: {p.surface}; border-bottom: 1px solid {p.border}; }}
QLabel#appTitle {{ font-size: {px("title")}; font-weight: 700; color: {p.text}; }}
QLabel#appSubtitle {{ font-size: {px("subtitle")}; color: {p.text_faint}; }}
QLabel#livePill {{ font-size: {px("pill")}; font-weight: 600; color: {p.text_muted};
    background: {p.surface_alt}; border-radius: 8px; padding: 3px 10px; }}
QLabel#livePill[state="ok"] {{ color: {p.ok}; }}
QLabel#livePill[state="warn"] {{ color: {p.warn}; background: {p.warn_bg}; }}
QLabel#livePill[state="error"] {{ color: {p.error}; background: {p.error_bg}; }}
QToolButton#menuButton {{ border: none; border-radius: 8px; background: transparent;
    min-width: {touch}px; min-height: {touch}px; max-width: {touch}px;
    max-height: {touch}px; }}
QToolButton#menuButton:hover {{ background: {p.surface_alt}; }}
QToolButton#menuButton:pressed {{ background: {p.border}; }}
QToolButton#menuButton::menu-indicator {{ image: none; width: 0px; }}

QLabel#sectionLabel {{ font-size: {px("section")}; font-weight: 700; color: {p.text_faint}; }}
QLabel#sectionMeta {{ font-size: {px("meta")}; color: {p.text_faint}; }}
QLabel#toast {{ font-size: {px("toast")}; font-weight: 600; color: {p.ok}; }}
QLabel#toast[level="info"] {{ color: {p.info}; }}
QLabel#toast[level="warn"] {{ color: {p.warn}; }}
QLabel#toast[level="error"] {{ color: {p.error}; }}
QLabel#basketLine {{ font-size: {px("basket")}; color: {p.text}; }}
QLabel#basketEmpty {{ font-size: {px("basket")}; color: {p.text_faint}; }}

QLabel#badge {{ font-size: {px("badge")}; font-weight: 700; border-radius: 4px;
    padding: 1px 7px; }}
QLabel#badge[kind="cross"] {{ color: {p.accessory}; background: {p.accessory_bg}; }}
QLabel#badge[kind="upgrade"] {{ color: {p.upgrade}; background: {p.upgrade_bg}; }}
QLabel#badge[kind="ring"] {{ color: {p.accent_text}; background: {p.accent}; }}
QLabel#badge[kind="done"] {{ color: {p.ok}; background: {p.surface_alt}; }}
QLabel#keycap {{ font-size: {px("keycap")}; font-weight: 600; color: {p.text_faint};
    border: 1px solid {p.border_strong}; border-radius: 4px; padding: 0px 5px;
    background: {p.surface}; }}
QLabel#cardName {{ font-size: {px("name")}; font-weight: 600; color: {p.text}; }}
QLabel#cardPrice {{ font-size: {px("price")}; font-weight: 700; color: {p.text}; }}
QLabel#cardPrice[kind="upgrade"] {{ color: {p.upgrade}; }}
QLabel#cardReason {{ font-size: {px("reason")}; color: {p.text_muted}; }}
QLabel#cardStock {{ font-size: {px("stock")}; color: {p.text_faint}; }}
QLabel#cardStock[low="true"] {{ color: {p.warn}; font-weight: 600; }}
QLabel#cardCode {{ font-size: {px("code")}; font-weight: 700; color: {p.text};
    font-family: {code_families}; }}
QLabel#cardDone {{ font-size: {px("done")}; font-weight: 700; color: {p.ok}; }}
QPushButton#accept {{ background: {p.accent}; color: {p.accent_text}; border: none;
    border-radius: 8px; padding: 0px 18px; min-height: 48px;
    font-size: {px("accept")}; font-weight: 700; }}
QPushButton#accept:hover {{ background: {p.accent_hover}; }}
QPushButton#accept:pressed {{ background: {p.accent_pressed}; }}
QPushButton#accept[primary="false"] {{ background: {p.accessory_bg}; color: {p.accent}; }}
QPushButton#accept[primary="false"]:hover {{ background: {p.accent}; color: {p.accent_text}; }}
QToolButton#dismiss {{ border: none; border-radius: 8px; background: transparent; }}
QToolButton#dismiss:hover {{ background: {p.surface_alt}; }}
QToolButton#dismiss:pressed {{ background: {p.border}; }}
QToolButton#quickAccept {{ border: none; border-radius: 8px; background: {p.accessory_bg}; }}
QToolButton#quickAccept[primary="true"] {{ background: {p.accent}; }}
QToolButton#quickAccept:hover {{ background: {p.accent_hover}; }}
QToolButton#quickAccept:pressed {{ background: {p.accent_pressed}; }}

QScrollArea#cardScroll {{ background: transparent; border: none; }}
QScrollBar:vertical {{ background: transparent; width: 8px; margin: 0px; }}
QScrollBar::handle:vertical {{ background: {p.border_strong}; border-radius: 4px;
    min-height: 32px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0px; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: none; }}

QLabel#emptyTitle {{ font-size: {px("empty_title")}; font-weight: 600; color: {p.text}; }}
QLabel#emptyText {{ font-size: {px("empty_text")}; color: {p.text_muted}; }}

QLineEdit#scanBox {{ background: {p.surface}; color: {p.text};
    border: 1px solid {p.border_strong}; border-radius: 10px; padding: 0px 10px;
    min-height: {scan_h}px; font-size: {px("scan")}; selection-background-color: {p.accent};
    selection-color: {p.accent_text}; }}
QLineEdit#scanBox:focus {{ border: 2px solid {p.accent}; padding: 0px 9px; }}
QLabel#scanHint {{ font-size: {px("scan_hint")}; color: {p.text_faint}; }}
QLabel#scanHint[level="error"] {{ color: {p.error}; }}
QLabel#scanHint[level="ok"] {{ color: {p.ok}; }}

QFrame#statusBar {{ background: {p.surface}; border-top: 1px solid {p.border}; }}
QLabel#statusText {{ font-size: {px("status")}; color: {p.text_muted}; }}
QLabel#statusAge {{ font-size: {px("status")}; color: {p.text_faint}; }}
QLabel#statusAge[stale="true"] {{ color: {p.warn}; }}
QLabel#progressText {{ font-size: {px("status")}; color: {p.text_muted}; }}
QProgressBar {{ border: none; background: {p.surface_alt}; border-radius: 3px;
    max-height: 6px; min-height: 6px; }}
QProgressBar::chunk {{ background: {p.accent}; border-radius: 3px; }}
QPushButton#linkButton {{ border: none; background: transparent; color: {p.accent};
    font-size: {px("status")}; font-weight: 600; padding: 4px 6px; min-height: 28px; }}
QPushButton#linkButton:hover {{ text-decoration: underline; }}

QFrame#banner {{ border-radius: 8px; border: 1px solid transparent; }}
QFrame#banner[level="info"] {{ background: {p.info_bg}; }}
QFrame#banner[level="warn"] {{ background: {p.warn_bg}; }}
QFrame#banner[level="error"] {{ background: {p.error_bg}; }}
QFrame#banner[level="ok"] {{ background: {p.accessory_bg}; }}
QLabel#bannerText {{ font-size: {px("banner")}; color: {p.text}; }}
QToolButton#bannerClose {{ border: none; background: transparent; border-radius: 6px;
    min-width: 32px; min-height: 32px; }}
QToolButton#bannerClose:hover {{ background: {p.surface_alt}; }}

QMenu {{ background: {p.surface}; color: {p.text}; border: 1px solid {p.border_strong};
    border-radius: 8px; padding: 6px 0px; font-size: {px("menu")}; }}
QMenu::item {{ padding: 10px 22px 10px 14px; }}
QMenu::item:selected {{ background: {p.surface_alt}; color: {p.text}; }}
QMenu::item:disabled {{ color: {p.text_faint}; }}
QMenu::separator {{ height: 1px; background: {p.border}; margin: 6px 10px; }}
QMenu::section {{ color: {p.text_faint}; font-size: {px("section")}; font-weight: 700;
    padding: 6px 14px 2px 14px; }}
QAbstractItemView#completerPopup {{ background: {p.surface}; color: {p.text};
    border: 1px solid {p.border_strong}; font-size: {px("menu")}; outline: 0;
    selection-background-color: {p.surface_alt}; selection-color: {p.text}; }}
QAbstractItemView#completerPopup::item {{ min-height: 40px; padding: 0px 8px; }}
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

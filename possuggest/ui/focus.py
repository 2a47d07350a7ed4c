"""Keeping the till's keyboard focus: the panel never takes it, except that a deliberate tap on
the scan box borrows it until Enter, Esc or a few idle seconds, and then hands it back.

The window is marked ``WindowDoesNotAcceptFocus`` and shown without activating
(``WA_ShowWithoutActivating``); taps on its buttons work without focus. On macOS it is also a
Tool window (an NSPanel, the kind that may stay inactive), kept visible while the application
is inactive. To borrow focus the flag is lifted on the native window in place (no re-show) and
the window activated; handing back restores the flag and activates the window that had focus:
one of the application's own windows (Qt), else on X11 the window manager's active window
(``_NET_ACTIVE_WINDOW``, read and requested through libX11 with ctypes: no extra package), or on
Windows the foreground window (user32). Elsewhere (macOS, Wayland) the flag is restored and the
window manager decides; the cashier taps the till.

There is no global shortcut: Qt has none, and grabbing keys system-wide (X11 ``XGrabKey``, a
Windows ``RegisterHotKey``) would take them from the till too. Tills that can bind a key to a
script accept or dismiss through the basket API instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

IDLE_MS = 5000          # the scan box hands focus back after this long without a key


class _XClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _XClientMessage), ("pad", ctypes.c_long * 24)]


class X11Focus:
    """Which top-level window the X11 window manager calls active, and asking it to activate
    one, on a display connection of its own."""

    XA_WINDOW = 33
    CLIENT_MESSAGE = 33
    SUBSTRUCTURE = (1 << 19) | (1 << 20)     # SubstructureNotify | SubstructureRedirect
    REVERT_TO_PARENT = 2

    def __init__(self) -> None:
        path = ctypes.util.find_library("X11")
        if not path:
            raise OSError("libX11 not found")
        lib = ctypes.CDLL(path)
        vp, ul = ctypes.c_void_p, ctypes.c_ulong
        lib.XOpenDisplay.restype = vp
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XDefaultRootWindow.restype = ul
        lib.XDefaultRootWindow.argtypes = [vp]
        lib.XInternAtom.restype = ul
        lib.XInternAtom.argtypes = [vp, ctypes.c_char_p, ctypes.c_int]
        lib.XGetWindowProperty.restype = ctypes.c_int
        lib.XGetWindowProperty.argtypes = [
            vp, ul, ul, ctypes.c_long, ctypes.c_long, ctypes.c_int, ul, ctypes.POINTER(ul),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ul), ctypes.POINTER(ul),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
        lib.XFree.argtypes = [vp]
        lib.XSendEvent.restype = ctypes.c_int
        lib.XSendEvent.argtypes = [vp, ul, ctypes.c_int, ctypes.c_long, vp]
        lib.XGetInputFocus.argtypes = [vp, ctypes.POINTER(ul), ctypes.POINTER(ctypes.c_int)]
        lib.XSetInputFocus.argtypes = [vp, ul, ctypes.c_int, ul]
        lib.XFlush.argtypes = [vp]
        lib.XCloseDisplay.argtypes = [vp]
        self._lib = lib
        self._dpy = lib.XOpenDisplay(None)
        if not self._dpy:
            raise OSError("cannot open the X display")
        self._root = lib.XDefaultRootWindow(self._dpy)
        self._active_atom = lib.XInternAtom(self._dpy, b"_NET_ACTIVE_WINDOW", 0)

    def _window_property(self, window: int, atom: int) -> int | None:
        lib = self._lib
        actual = ctypes.c_ulong()
        fmt = ctypes.c_int()
        n = ctypes.c_ulong()
        after = ctypes.c_ulong()
        data = ctypes.POINTER(ctypes.c_ubyte)()
        status = lib.XGetWindowProperty(self._dpy, window, atom, 0, 1, 0, self.XA_WINDOW,
                                        ctypes.byref(actual), ctypes.byref(fmt),
                                        ctypes.byref(n), ctypes.byref(after),
                                        ctypes.byref(data))
        try:
            if status != 0 or actual.value != self.XA_WINDOW or n.value < 1 or not data:
                return None
            return int(ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0])
        finally:
            if data:
                lib.XFree(data)

    @property
    def ewmh(self) -> bool:
        """Whether a window manager keeps ``_NET_ACTIVE_WINDOW`` on the root window."""
        return self._window_property(self._root, self._active_atom) is not None

    def active_window(self) -> int | None:
        """The active top-level window (the WM's), else the one with the input focus."""
        win = self._window_property(self._root, self._active_atom)
        if win:
            return win
        focus = ctypes.c_ulong()
        revert = ctypes.c_int()
        self._lib.XGetInputFocus(self._dpy, ctypes.byref(focus), ctypes.byref(revert))
        return int(focus.value) if focus.value > 1 else None     # 0 None, 1 PointerRoot

    def activate(self, window: int) -> None:
        """Ask the window manager to activate ``window`` (as a pager would); without one,
        set the input focus directly."""
        lib = self._lib
        if self.ewmh:
            ev = _XEvent()
            ev.xclient.type = self.CLIENT_MESSAGE
            ev.xclient.send_event = 1
            ev.xclient.display = self._dpy
            ev.xclient.window = window
            ev.xclient.message_type = self._active_atom
            ev.xclient.format = 32
            ev.xclient.data[0] = 2          # source: a pager, i.e. the user's own request
            lib.XSendEvent(self._dpy, self._root, 0, self.SUBSTRUCTURE, ctypes.byref(ev))
        else:
            lib.XSetInputFocus(self._dpy, window, self.REVERT_TO_PARENT, 0)
        lib.XFlush(self._dpy)

    def close(self) -> None:
        if self._dpy:
            self._lib.XCloseDisplay(self._dpy)
            self._dpy = None


class WindowsFocus:
    """The foreground window on Windows (user32). Written to the Win32 documentation; not
    yet run on a Windows machine."""

    def __init__(self) -> None:
        win_dll: Any = getattr(ctypes, "WinDLL")    # noqa: B009 - absent off Windows
        self._user32 = win_dll("user32", use_last_error=True)

    def active_window(self) -> int | None:
        return int(self._user32.GetForegroundWindow()) or None

    def activate(self, window: int) -> None:
        self._user32.SetForegroundWindow(ctypes.c_void_p(window))

    def close(self) -> None:
        pass


def native_focus() -> X11Focus | WindowsFocus | None:
    """The platform's way to read and hand back the active window, if it has one we know."""
    platform = QGuiApplication.platformName()
    try:
        if platform == "xcb":
            return X11Focus()
        if platform == "windows":
            return WindowsFocus()
    except OSError as exc:
        log.warning("focus cannot be handed back to the till: %s", exc)
    return None


def prepare_window(window: QWidget) -> None:
    """Before the first show: never take focus when shown, updated or tapped."""
    window.setWindowFlag(Qt.WindowType.WindowDoesNotAcceptFocus, True)
    window.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
    if sys.platform == "darwin":
        window.setWindowFlag(Qt.WindowType.Tool, True)
        window.setAttribute(Qt.WidgetAttribute.WA_MacAlwaysShowToolWindow, True)


class FocusKeeper(QObject):
    """Lends keyboard focus to ``target`` on request and hands it back (see the module)."""

    lentChanged = Signal(bool)

    def __init__(self, window: QWidget, target: QWidget, idle_ms: int = IDLE_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.target = target
        self.lent = False
        self._prev_qt: QWidget | None = None
        self._prev_native: int | None = None
        self._native: X11Focus | WindowsFocus | None = None
        self._native_checked = False
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(idle_ms)
        self._idle.timeout.connect(self.give_back)

    @property
    def idle_ms(self) -> int:
        return self._idle.interval()

    def set_idle_ms(self, ms: int) -> None:
        self._idle.setInterval(ms)

    def _platform(self) -> X11Focus | WindowsFocus | None:
        if not self._native_checked:
            self._native_checked = True
            self._native = native_focus()
        return self._native

    def _set_accepts_focus(self, on: bool) -> None:
        handle = self.window.windowHandle()
        if handle is not None:
            handle.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus, not on)

    def borrow(self) -> None:
        """The cashier tapped the scan box: take focus there, remembering who had it."""
        if self.lent:
            self.touch()
            return
        prev = QApplication.activeWindow()
        self._prev_qt = prev if prev is not None and prev is not self.window else None
        self._prev_native = None
        native = self._platform()
        if self._prev_qt is None and native is not None:
            try:
                win = native.active_window()
            except OSError as exc:          # pragma: no cover - a display gone away
                log.warning("active window not read: %s", exc)
                win = None
            handle = self.window.windowHandle()
            own = int(handle.winId()) if handle is not None else 0
            if win is not None and win != own:
                self._prev_native = win
        self.lent = True
        self._set_accepts_focus(True)
        self.window.activateWindow()
        self.target.setFocus(Qt.FocusReason.MouseFocusReason)
        self._idle.start()
        log.debug("scan box borrowed focus (from %s)",
                  "a panel window" if self._prev_qt is not None else self._prev_native)
        self.lentChanged.emit(True)

    def touch(self) -> None:
        """A key in the panel: keep focus a little longer."""
        if self.lent:
            self._idle.start()

    def give_back(self) -> None:
        """Enter or idle: stop accepting focus and activate whoever had it (on the next turn
        of the event loop, once a closing pop-up such as the completer has let go)."""
        if not self.lent:
            return
        self._release()
        prev, native = self._prev_qt, self._prev_native
        self._prev_qt = None
        self._prev_native = None
        QTimer.singleShot(0, self, lambda: self._hand_back(prev, native))

    def _hand_back(self, prev: QWidget | None, native: int | None) -> None:
        if self.lent:
            return                          # borrowed again in the meantime
        if prev is not None and shiboken6.isValid(prev) and prev.isVisible():
            prev.activateWindow()
        elif native is not None and self._native is not None:
            try:
                self._native.activate(native)
            except OSError as exc:          # pragma: no cover - a display gone away
                log.warning("focus not handed back: %s", exc)

    def released(self) -> None:
        """The panel lost focus by itself (the cashier tapped the till): nothing to hand back."""
        if self.lent:
            self._release()

    def _release(self) -> None:
        self.lent = False
        self._idle.stop()
        self._set_accepts_focus(False)
        popup = getattr(self.target, "completer_", None)
        if popup is not None and popup.popup().isVisible():
            popup.popup().hide()
        if self.target.hasFocus():
            self.target.clearFocus()
        log.debug("focus handed back")
        self.lentChanged.emit(False)

    def close(self) -> None:
        self._idle.stop()
        if self._native is not None:
            self._native.close()
            self._native = None

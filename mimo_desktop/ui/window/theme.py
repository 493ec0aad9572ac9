"""Light and dark themes: follow the system's colour scheme unless a setting forces one.

Fusion draws the same on every platform and takes a palette completely, so a forced dark theme
looks right even where the platform theme has no dark variant (offscreen, Xvfb, older desktops).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_SETTING = "theme"  # "system" | "light" | "dark"
THEME_CHOICES = ("system", "light", "dark")


@dataclass(frozen=True)
class HtmlColors:
    """Colours the chat view writes into its HTML (QTextDocument has no palette roles for these)."""

    muted: str
    warning: str
    error: str
    thinking: str
    user_turn: str  # the tint of the user's turns (the model's sit on the plain background)
    user_edge: str
    action: str  # the message actions: quieter than links in the text


LIGHT_HTML = HtmlColors(muted="#6b6b6b", warning="#9a5b00", error="#b3261e", thinking="#5f6368",
                        user_turn="#e8f0fe", user_edge="#c6d6f5", action="#3c6fd1")
DARK_HTML = HtmlColors(muted="#a0a0a0", warning="#f0b450", error="#ff8a80", thinking="#b0b4ba",
                       user_turn="#2b3648", user_edge="#3d4d66", action="#8ab4f8")


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def resolve_dark(mode: str) -> bool:
    if mode == "dark":
        return True
    if mode == "light":
        return False
    return system_prefers_dark()


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(225, 227, 230)
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: window, QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor(55, 57, 61),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor(255, 100, 100),
        QPalette.ColorRole.Link: QColor(110, 170, 255), QPalette.ColorRole.LinkVisited: QColor(170, 140, 255),
        QPalette.ColorRole.Highlight: QColor(53, 116, 240), QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(140, 143, 148),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 126))
    return p


_applied: bool | None = None  # None: the platform's own palette is in use


def apply_theme(mode: str) -> bool:
    """Set the application palette for ``mode``; returns whether the result is dark.

    A light theme on a light system keeps the platform's own style and palette untouched (and
    costs nothing at start-up); anything else switches to Fusion with an explicit palette.
    """
    global _applied
    app = QApplication.instance()
    dark = resolve_dark(mode)
    if app is None or _applied == dark or (_applied is None and not dark and not system_prefers_dark()):
        return dark
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    _applied = dark
    return dark


def html_colors(dark: bool) -> HtmlColors:
    return DARK_HTML if dark else LIGHT_HTML


def apply_window_theme(window, mode: str) -> None:
    """The application palette for ``mode`` and the matching chat colours (code, notes)."""
    window.chat.set_dark(apply_theme(mode))

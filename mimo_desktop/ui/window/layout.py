"""The window's size and splitter remembered between runs, and a layout that stays usable down to 800×600.

State lives in ``window.ini`` in the data folder (QSettings, INI format) rather than the user's global Qt
settings: each data folder (``--home``, ``$MIMO_DESKTOP_HOME``, a test's) has its own, and it is still written
when the conversation database is locked or full.

Small windows: the sidebar narrows to at most a quarter of the width (and can be hidden, Ctrl+B); on short
windows the message box grows less tall, so the conversation keeps most of the height.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, QSettings, QSize, Slot

SIDEBAR_WIDTH = 260  # px, what a first run starts with
SIDEBAR_MIN = 170
ROOMY_WIDTH = 1040  # below this the sidebar gives up width to the chat
EDIT_TALLEST, EDIT_SHORTEST = 140, 60  # px, the message box's height limit on tall and on short windows


def sidebar_width(window_width: int, preferred: int) -> int:
    """How wide the sidebar may be in a window this wide: the person's choice, where there is room."""
    if window_width >= ROOMY_WIDTH:
        return preferred
    return max(SIDEBAR_MIN, min(preferred, window_width // 4))


def edit_height(window_height: int) -> int:
    """The message box's tallest on a window this tall: full height from 720 px up, less below."""
    return max(EDIT_SHORTEST, min(EDIT_TALLEST, (window_height - 440) // 2))


class WindowLayout(QObject):
    """Restores the window's geometry and sidebar at once, saves them when the window closes,
    and fits the sidebar and the message box to the window's size as it changes."""

    def __init__(self, window, ini_path: Path) -> None:
        super().__init__(window)
        self._window = window
        self._settings = QSettings(str(ini_path), QSettings.Format.IniFormat)
        self._preferred = SIDEBAR_WIDTH
        self._fitting = False
        self.restore()
        window.splitter.splitterMoved.connect(self._on_splitter_moved)
        window.closing.connect(self.save)
        window.resized.connect(self.fit)
        window.sidebar_action.toggled.connect(self._on_sidebar_toggled)

    def restore(self) -> None:
        """The last run's size, place and sidebar (a first run: 1100×720, the sidebar 260 px wide)."""
        s, window = self._settings, self._window
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
        preferred = _int(s.value("sidebar/width"), SIDEBAR_WIDTH)
        self._preferred = max(SIDEBAR_MIN, preferred)
        window.set_sidebar_visible(str(s.value("sidebar/visible", "true")).lower() != "false")
        self.fit(window.size())

    @Slot()
    def save(self) -> None:
        s, window = self._settings, self._window
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("sidebar/width", self._preferred)
        s.setValue("sidebar/visible", window.sidebar_visible())
        s.sync()

    @Slot(QSize)
    def fit(self, size: QSize) -> None:
        window = self._window
        window.composer.edit.setMaximumHeight(edit_height(size.height()))
        if not window.sidebar_visible():
            return
        width = sidebar_width(size.width(), self._preferred)
        total = sum(window.splitter.sizes()) or size.width()
        self._fitting = True
        try:
            window.splitter.setSizes([width, max(1, total - width)])
        finally:
            self._fitting = False

    @Slot(bool)
    def _on_sidebar_toggled(self, visible: bool) -> None:
        if visible:
            self.fit(self._window.size())

    @Slot(int, int)
    def _on_splitter_moved(self, pos: int, _index: int) -> None:
        if self._fitting:
            return
        if pos == 0:  # dragged shut: hidden, as with Ctrl+B, and back at its width when shown
            self._window.set_sidebar_visible(False)
        else:
            self._preferred = max(SIDEBAR_MIN, pos)  # the person dragged it: their width from now on


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

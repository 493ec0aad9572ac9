"""Composition root: builds the services, wires them, owns the shutdown order."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from mimo_desktop import APP_NAME, __version__
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store

# Set by bench/startup.py: print seconds to "window shown and interactive", then quit.
ENV_EXIT_WHEN_SHOWN = "MIMO_DESKTOP_EXIT_WHEN_SHOWN"


def parse_gui_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mimo-desktop")
    parser.add_argument("--self-test", action="store_true", help="open the window offscreen, exercise it, exit")
    parser.add_argument("--home", type=Path, help="data folder (default: $MIMO_DESKTOP_HOME or the user data folder)")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the window once shown, then quit")
    return parser.parse_args(argv)


def run_gui(argv: list[str]) -> int:
    args = parse_gui_args(argv)
    if args.self_test:
        from mimo_desktop.selftest import run_self_test

        return run_self_test(args.home)
    started = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("mimo-desktop")
    store = open_store_or_explain(args.home)
    if store is None:
        return 1
    window, controller = build_window(store)
    window.show()
    if os.environ.get(ENV_EXIT_WHEN_SHOWN) or args.screenshot:
        _exit_once_interactive(app, window, started, args.screenshot)
    code = app.exec()
    problem = shutdown(controller, store)
    if problem and not os.environ.get(ENV_EXIT_WHEN_SHOWN):
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(None, APP_NAME, problem)  # what could not be saved, and where it is kept
    return code


def build_window(store: Store, *, start_engine: bool = True):
    """The window and its controller; the engine the settings describe starts at once (on its thread)."""
    from mimo_desktop.ui.window.controller import ChatController
    from mimo_desktop.ui.window.main import MainWindow
    from mimo_desktop.ui.window.store_status import StoreStatus

    window = MainWindow()
    controller = ChatController(store, window)
    window.store_status = StoreStatus(store, window, window)  # locked / full / written again, said as it happens
    # Closing the window is the ordered shutdown's first step: stop the answer, then the engine.
    window.closing.connect(controller.shutdown)
    if start_engine:
        controller.start_engine_from_settings()
    from PySide6.QtCore import QTimer

    # once the window is up, not while it is being shown: the imports would compete for the GIL
    QTimer.singleShot(WARM_UP_AFTER_MS, window, _warm_up_markdown)
    return window, controller


WARM_UP_AFTER_MS = 300


def _warm_up_markdown() -> None:
    """Load the Markdown and highlighting modules off the GUI thread while the user reads or types."""
    import threading

    from mimo_desktop.ui.chat.markdown import warm_up

    threading.Thread(target=warm_up, name="mimo-markdown-warm-up", daemon=True).start()


def shutdown(controller, store: Store) -> str | None:
    """Ordered: cancel generation (what streamed is kept, marked stopped), stop the engine, close the database.
    Returns what could not be saved on closing, or None."""
    stop = getattr(controller, "shutdown", None)
    if stop is not None:
        stop()
    try:
        store.close()  # writes what is queued; retries a locked or full database for a few seconds
    except StoreError as exc:
        sys.stderr.write(f"{APP_NAME}: {exc}\n")
        return str(exc)
    return None


def open_store_or_explain(home: Path | None) -> Store | None:
    """Open the database; on failure tell the user what happened and what they can do.

    A damaged file is moved aside (kept) and what can be read of it recovered into a new one, once the
    person agrees; a full disk opens the history read only (Store.open does that, the window says so).
    """
    from PySide6.QtWidgets import QMessageBox

    try:
        return Store.open(home)
    except StoreError as exc:
        message = str(exc)
    if "damaged" in message:
        from mimo_desktop.core import paths
        from mimo_desktop.core.salvage import salvage

        answer = QMessageBox.question(
            None,
            APP_NAME,
            f"{message}\n\nMove the damaged file aside (it is kept as is) and recover what can still be "
            "read of it into a new history?",
        )
        if answer == QMessageBox.StandardButton.Yes:
            try:
                report = salvage(paths.database_path(home))
            except (OSError, sqlite3.Error) as exc:
                message = f"Recovering the damaged history failed: {exc}. The damaged file was kept."
            else:
                sys.stderr.write(f"{APP_NAME}: {report.sentence()}\n")
                QMessageBox.information(None, APP_NAME, report.sentence())
                try:
                    return Store.open(home)
                except StoreError as exc:
                    message = str(exc)
    sys.stderr.write(f"{APP_NAME}: {message}\n")
    QMessageBox.critical(None, APP_NAME, message)
    return None


def _exit_once_interactive(app, window, started: float, screenshot: Path | None) -> None:
    """Quit from the first event-loop turn after the window is exposed: it is then interactive."""
    from PySide6.QtCore import QTimer

    def probe() -> None:
        if not window.isVisible() or not window.windowHandle() or not window.windowHandle().isExposed():
            QTimer.singleShot(1, probe)
            return
        elapsed = time.perf_counter() - started
        if screenshot is not None:
            save_screenshot(app, window, screenshot)
        heavy = sorted(m for m in ("torch", "vllm", "torchcodec", "torchaudio") if m in sys.modules)
        print(f"shown {elapsed:.4f} heavy_modules={','.join(heavy) or 'none'}", flush=True)
        window.close()
        app.quit()

    QTimer.singleShot(0, probe)


def save_screenshot(app, window, target: Path) -> None:
    """On a real display, grab what the X server shows; offscreen, render the widget."""
    app.processEvents()
    if app.platformName() == "offscreen":
        image = window.grab()
    else:
        geo = window.frameGeometry()
        image = window.screen().grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    image.save(str(target))


def temporary_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="mimo-desktop-"))

"""`mimo-desktop --self-test`: open the window offscreen and use it like a person would, in a temporary home.

The packaged app runs this too, so it also checks that the media stack (torch, torchcodec, Pillow) loads.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def run_self_test(home: Path | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    own_home = home is None
    if own_home:
        from mimo_desktop.app import temporary_home

        home = temporary_home()
    checks: list[tuple[str, bool, str]] = []
    try:
        checks += _window_checks(home)
        checks += _media_stack_checks()
    except Exception as exc:  # the self-test must report, not crash
        checks.append(("self-test ran to the end", False, f"{type(exc).__name__}: {exc}"))
    finally:
        if own_home:
            shutil.rmtree(home, ignore_errors=True)
    for name, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    failed = [c for c in checks if not c[1]]
    print("self-test passed" if not failed else f"self-test FAILED ({len(failed)} of {len(checks)})")
    return 0 if not failed else 1


def _window_checks(home: Path) -> list[tuple[str, bool, str]]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mimo_desktop.app import build_window, shutdown
    from mimo_desktop.core.store import Store

    app = QApplication.instance() or QApplication(sys.argv[:1])
    store = Store.open(home)
    window, controller = build_window(store)
    window.show()
    app.processEvents()
    out: list[tuple[str, bool, str]] = [("window shown", window.isVisible(), "")]

    window.new_action.trigger()
    QTest.keyClicks(window.composer.edit, "self-test question about a zebra")
    QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
    app.processEvents()
    convs = store.conversations()
    thread = store.thread(convs[0].id) if convs else []
    out.append(("conversation created and message written",
                len(convs) == 1 and [m.text for m in thread] == ["self-test question about a zebra"], ""))
    out.append(("message shown", "zebra" in window.chat.plain_text(), ""))

    window.conversations.search.setText("zebra")
    app.processEvents()
    out.append(("search finds it", window.conversations.titles() == [convs[0].title if convs else "?"], ""))
    window.conversations.search.setText("")

    controller.delete_conversation(convs[0].id)
    app.processEvents()
    out.append(("conversation deleted", store.conversations() == [] and window.conversations.titles() == [], ""))
    window.close()
    shutdown(controller, store)
    return out


def _media_stack_checks() -> list[tuple[str, bool, str]]:
    out = []
    for module in ("PIL.Image", "numpy", "torch", "torchaudio", "torchcodec.decoders"):
        try:
            __import__(module)
            out.append((f"import {module}", True, ""))
        except Exception as exc:  # noqa: BLE001 - report any import failure
            out.append((f"import {module}", False, f"{type(exc).__name__}: {exc}"[:300]))
    return out

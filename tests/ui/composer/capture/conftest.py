"""Capture fixtures: a scratch-file factory like the composer's, and a real Composer."""

from __future__ import annotations

import itertools

import pytest

from mimo_desktop.ui.composer.composer import Composer


@pytest.fixture
def scratch(tmp_path):
    counter = itertools.count(1)

    def scratch_path(stem: str, suffix: str):
        return tmp_path / f"{stem}-{next(counter)}.{suffix}"

    return scratch_path


@pytest.fixture
def composer(qtbot, no_thread_leaks):
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()

"""Asking before a link from the conversation opens outside the app."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QMessageBox, QWidget


def link_question(parent: QWidget | None, url: QUrl) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Question, "Open link", "", parent=parent)
    box.setObjectName("openLinkQuestion")
    what = "Write to this address?" if url.scheme() == "mailto" else "Open this address in your browser?"
    box.setText(what)
    box.setInformativeText(url.toString())
    box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box


def confirm_open_link(parent: QWidget | None, url: QUrl) -> bool:
    """The address in full, then Open or Cancel (the default: a stray Enter opens nothing)."""
    return link_question(parent, url).exec() == QMessageBox.StandardButton.Open

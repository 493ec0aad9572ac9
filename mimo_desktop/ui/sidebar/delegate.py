"""How one sidebar row looks: the title over a line of preview (search hits highlighted), date headings, and
rename / delete buttons that show while the pointer is over the row (or the row is selected).

Everything is elided to the list's width, so the sidebar never scrolls sideways. Renaming happens in place:
a line edit over the title (F2, double-click or the pencil button); Enter keeps it, Esc cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QWidget,
)

from mimo_desktop.core.queries import split_hits

ID_ROLE = Qt.ItemDataRole.UserRole
PREVIEW_ROLE = Qt.ItemDataRole.UserRole + 1
MATCH_ROLE = Qt.ItemDataRole.UserRole + 2  # the message a search hit matched
HEADER_ROLE = Qt.ItemDataRole.UserRole + 3  # a date heading, not a conversation
TITLE_ROLE = Qt.ItemDataRole.UserRole + 4  # the stored title ("" for a new conversation)
DRAFT_ROLE = Qt.ItemDataRole.UserRole + 5  # the line of an unsent draft, shown instead of the preview
DRAFT_LABEL = "Draft: "

def row_heights(font: QFont) -> tuple[QSize, QSize]:
    """The size hints of a date heading and of a conversation row in this font (width 0: never a sideways
    scroll bar)."""
    line = QFontMetrics(font).height()
    return QSize(0, line + 12), QSize(0, 2 * line + 14)


BUTTONS = (("rename", "✎", "Rename (F2)"), ("delete", "✕", "Delete (Del)"))
BUTTON = 22  # px, square
PAD = 8


class ConversationDelegate(QStyledItemDelegate):
    renameCommitted = Signal(int, str)
    buttonClicked = Signal(str, int)  # "rename" | "delete", conversation id

    # ------------------------------------------------------------------ geometry
    # No sizeHint() here: each item carries its height (row_heights), so laying out a long list stays in C++.
    @staticmethod
    def button_rects(rect: QRect) -> dict[str, QRect]:
        top = rect.top() + (rect.height() - BUTTON) // 2
        rects, right = {}, rect.right() - PAD // 2
        for name, _glyph, _tip in reversed(BUTTONS):
            rects[name] = QRect(right - BUTTON + 1, top, BUTTON, BUTTON)
            right -= BUTTON + 2
        return rects

    @staticmethod
    def _lines(rect: QRect, font_height: int) -> tuple[QRect, QRect]:
        title = QRect(rect.left() + PAD, rect.top() + 6, rect.width() - 2 * PAD, font_height)
        preview = QRect(title.left(), title.bottom() + 2, title.width(), font_height)
        return title, preview

    @staticmethod
    def _shows_buttons(option: QStyleOptionViewItem) -> bool:
        state = option.state
        return bool(state & QStyle.StateFlag.State_MouseOver or state & QStyle.StateFlag.State_Selected)

    # ------------------------------------------------------------------ painting
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        try:
            if index.data(HEADER_ROLE):
                self._paint_header(painter, option, index)
            else:
                self._paint_row(painter, option, index)
        finally:
            painter.restore()

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        font = QFont(option.font)
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        rect = option.rect.adjusted(PAD, 4, -PAD, 0)
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(font).elidedText(index.data(), Qt.TextElideMode.ElideRight, rect.width()))

    def _paint_row(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        metrics = QFontMetrics(option.font)
        title_rect, preview_rect = self._lines(option.rect, metrics.height())
        buttons = self._shows_buttons(option)
        if buttons:
            cut = len(BUTTONS) * (BUTTON + 2) + 2
            title_rect.setRight(title_rect.right() - cut)
            preview_rect.setRight(preview_rect.right() - cut)
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(option.palette.color(text_role))
        title = QFontMetrics(bold).elidedText(index.data(), Qt.TextElideMode.ElideRight, title_rect.width())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        dim = option.palette.color(text_role)
        dim.setAlphaF(0.62)
        draft = index.data(DRAFT_ROLE)
        if draft:
            preview_rect.setLeft(self._paint_draft_label(painter, option, preview_rect, selected))
        self._paint_runs(painter, option, preview_rect, draft or index.data(PREVIEW_ROLE) or "", dim)
        if buttons:
            self._paint_buttons(painter, option, dim)

    @staticmethod
    def _paint_draft_label(painter: QPainter, option: QStyleOptionViewItem, rect: QRect, selected: bool) -> int:
        """"Draft:" in the accent colour, as chat apps mark a conversation with an unsent message; returns
        where the draft's words start."""
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Link
        painter.setPen(option.palette.color(role))
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, DRAFT_LABEL)
        return rect.left() + QFontMetrics(font).horizontalAdvance(DRAFT_LABEL)

    @staticmethod
    def _paint_runs(painter: QPainter, option: QStyleOptionViewItem, rect: QRect, preview: str,
                    colour: QColor) -> None:
        """The preview line, matched words bold on the highlight tint, elided where the line ends."""
        plain, hit = QFont(option.font), QFont(option.font)
        hit.setBold(True)
        x, right = rect.left(), rect.right()
        tint = QColor(option.palette.color(QPalette.ColorRole.Highlight))
        tint.setAlphaF(0.28)
        for text, matched in split_hits(preview):
            font = hit if matched else plain
            metrics = QFontMetrics(font)
            room = right - x
            if room <= metrics.horizontalAdvance("…"):
                break
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
            width = metrics.horizontalAdvance(shown)
            painter.setFont(font)
            if matched:
                painter.fillRect(QRect(x, rect.top(), width, rect.height()), tint)
            painter.setPen(option.palette.color(QPalette.ColorRole.Text) if matched else colour)
            painter.drawText(QRect(x, rect.top(), width + 1, rect.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)
            x += width
            if shown != text:
                break

    def _paint_buttons(self, painter: QPainter, option: QStyleOptionViewItem, colour: QColor) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        glyphs = {name: glyph for name, glyph, _tip in BUTTONS}
        view = option.widget
        under = view.viewport().mapFromGlobal(QCursor.pos()) if hasattr(view, "viewport") else QPoint(-1, -1)
        for name, rect in self.button_rects(option.rect).items():
            if rect.contains(under):
                back = QColor(option.palette.color(QPalette.ColorRole.Text))
                back.setAlphaF(0.12)
                painter.setBrush(back)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawRoundedRect(rect, 4, 4)
            painter.setFont(option.font)
            painter.setPen(colour)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, glyphs[name])

    # ------------------------------------------------------------------ buttons
    def button_at(self, option: QStyleOptionViewItem, pos: QPoint) -> str | None:
        return next((name for name, rect in self.button_rects(option.rect).items() if rect.contains(pos)), None)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        if index.data(HEADER_ROLE) or event.type() not in (QEvent.Type.MouseButtonPress,
                                                           QEvent.Type.MouseButtonRelease,
                                                           QEvent.Type.MouseButtonDblClick):
            return super().editorEvent(event, model, option, index)
        name = self.button_at(option, event.position().toPoint())
        if name is None or event.button() != Qt.MouseButton.LeftButton:
            return super().editorEvent(event, model, option, index)
        if event.type() == QEvent.Type.MouseButtonRelease:
            self.buttonClicked.emit(name, int(index.data(ID_ROLE)))
        return True  # a press on a button neither opens the conversation nor starts a drag

    def helpEvent(self, event, view, option: QStyleOptionViewItem, index: QModelIndex) -> bool:  # noqa: N802
        name = None if index.data(HEADER_ROLE) else self.button_at(option, event.pos())
        if name is None:
            return super().helpEvent(event, view, option, index)
        QToolTip.showText(event.globalPos(), next(tip for n, _g, tip in BUTTONS if n == name), view)
        return True

    # ------------------------------------------------------------------ rename in place
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:  # noqa: N802
        editor = QLineEdit(parent)
        editor.setObjectName("renameEdit")
        editor.setAccessibleName("New title")
        editor.setPlaceholderText("Title")
        return editor

    def setEditorData(self, editor: QLineEdit, index: QModelIndex) -> None:  # noqa: N802
        editor.setText(index.data(TITLE_ROLE) or "")
        editor.selectAll()

    def updateEditorGeometry(  # noqa: N802 (Qt override)
        self, editor: QWidget, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        title, _preview = self._lines(option.rect, QFontMetrics(option.font).height())
        editor.setGeometry(title.adjusted(-3, -3, 3, 3))

    def setModelData(self, editor: QLineEdit, model, index: QModelIndex) -> None:  # noqa: N802
        title = editor.text().strip()
        if title and title != (index.data(TITLE_ROLE) or ""):
            self.renameCommitted.emit(int(index.data(ID_ROLE)), title)  # the store is the truth: the list reloads

"""How turns read: the user's in a tinted card, tables with a grid, headings near the body's size."""

from PySide6.QtGui import QColor, QTextTable

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.ui.window.theme import DARK_HTML, LIGHT_HTML

ANSWER = ("# A lake at sunset\n\nThe photo shows **a lake**.\n\n> A quote\n\n| thing | where |\n| --- | --- |\n"
          "| sun | top right |\n\n![a chart](http://example.invalid/c.png)\n")


def open_answer(qtbot, window, store):
    conv = store.create_conversation("render")
    store.add_message(conv.id, Role.USER, "Describe it")
    store.add_message(conv.id, Role.ASSISTANT, ANSWER, state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    qtbot.waitUntil(lambda: not window.chat.loading)


def tables(doc) -> list[QTextTable]:
    found, frames = [], [doc.rootFrame()]
    while frames:
        frame = frames.pop()
        if isinstance(frame, QTextTable):
            found.append(frame)
        frames.extend(frame.childFrames())
    return found


def fragment_font_size(doc, text: str) -> float:
    block = doc.begin()
    while block.isValid():
        if block.text().strip() == text:
            return block.begin().fragment().charFormat().font().pointSizeF()
        block = block.next()
    for table in tables(doc):
        cell = table.cellAt(0, 0)
        block = cell.firstCursorPosition().block()
        if block.text().strip() == text:
            return block.begin().fragment().charFormat().font().pointSizeF()
    raise AssertionError(f"no block {text!r}")


def test_the_users_turn_is_a_tinted_card_and_the_models_table_has_a_grid(qtbot, window, store):
    open_answer(qtbot, window, store)
    found = tables(window.chat.document())
    cards = [t for t in found if t.cellAt(0, 0).format().background().color() == QColor(LIGHT_HTML.user_turn)]
    assert len(cards) == 1 and "Describe it" in cards[0].cellAt(0, 0).firstCursorPosition().block().text() + \
        window.chat.plain_text()
    grid = [t for t in found if t.rows() == 2 and t.columns() == 2]
    assert len(grid) == 1 and grid[0].format().border() >= 1
    assert grid[0].format().borderCollapse()


def test_the_card_follows_the_dark_theme(qtbot, window, store):
    open_answer(qtbot, window, store)
    window.chat.set_dark(True)
    colours = {t.cellAt(0, 0).format().background().color().name() for t in tables(window.chat.document())}
    assert DARK_HTML.user_turn in colours and LIGHT_HTML.user_turn not in colours


def test_headings_stay_near_the_body_size_and_a_blocked_image_shows_its_alt_text(qtbot, window, store):
    open_answer(qtbot, window, store)
    doc = window.chat.document()
    body = fragment_font_size(doc, "The photo shows a lake.")
    heading = fragment_font_size(doc, "A lake at sunset")
    assert 1.2 <= heading / body <= 1.5
    assert "[image: a chart · not loaded: http://example.invalid/c.png]" in window.chat.plain_text()

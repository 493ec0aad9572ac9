"""Where a conversation branches, in one query (what the chat view asks before it asks for siblings)."""

from mimo_desktop.core.conversation import Role
from mimo_desktop.core.store import Store


def test_branch_points_are_exactly_the_places_with_alternatives(tmp_path):
    store = Store.open(tmp_path)
    try:
        conv = store.create_conversation("forks")
        question = store.add_message(conv.id, Role.USER, "q")
        first = store.add_message(conv.id, Role.ASSISTANT, "a1")
        store.add_message(conv.id, Role.ASSISTANT, "a2", parent_id=question.id)  # regenerated
        store.add_message(conv.id, Role.USER, "follow-up", parent_id=first.id)
        assert store.branch_points(conv.id) == {(question.id, "assistant")}
        store.add_message(conv.id, Role.USER, "edited q", parent_id=None)  # an edited first question
        assert store.branch_points(conv.id) == {(question.id, "assistant"), (None, "user")}
        other = store.create_conversation("plain")
        store.add_message(other.id, Role.USER, "only")
        assert store.branch_points(other.id) == set()
    finally:
        store.close()

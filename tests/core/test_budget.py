"""What a message costs against the context, and a new chat's title (core.budget, core.titles; Qt-free)."""

from mimo_desktop.core.budget import ContextBudget, format_cost, format_duration, format_seconds, history_tokens
from mimo_desktop.core.conversation import Attachment, GenerationStats, Role
from mimo_desktop.core.titles import title_from


def test_history_counts_exactly_up_to_the_last_answer_with_usage_and_estimates_after_it(store):
    conv = store.create_conversation()
    store.add_message(conv.id, Role.USER, "x" * 4000)
    answer = store.add_message(conv.id, Role.ASSISTANT, "an answer")
    store.update_message(answer.id, stats=GenerationStats(prompt_tokens=1200, output_tokens=300))
    photo = Attachment("a" * 64, "image", "cat.png", 10, "image/png", tokens=256)
    store.add_message(conv.id, Role.USER, "y" * 400, attachments=[photo])
    thread = store.thread(conv.id)
    assert history_tokens(thread) == 1200 + 300 + 400 // 4 + 256
    assert history_tokens(thread[:1]) == 1000  # no answer yet: about 4 characters a token


def test_the_meter_says_the_context_used_and_send_is_refused_with_what_to_do():
    fits = ContextBudget(text_tokens=100, media_tokens=900, history_tokens=2000, limit=4096, estimate=True)
    assert fits.meter_text() == "Context: ≈ 3,000 of 4,096 tokens (history 2,000 · text 100 · attachments 900)"
    assert fits.over_reason() == "" and fits.meter_color() == "gray"
    near = ContextBudget(100, 1700, 2000, 4096, False)
    assert near.meter_color() == "#d68910" and near.over_reason() == ""
    over = ContextBudget(100, 3000, 2000, 4096, False)
    assert over.meter_color() == "#c0392b"
    assert over.over_reason() == ("Too long: this message needs 3,100 tokens but only 2,096 of the 4,096-token "
                                  "context are left. Remove an attachment or start a new chat.")
    no_engine = ContextBudget(5, 0, 0, None, False)
    assert no_engine.meter_text() == "Message: 5 tokens (text 5 · attachments 0)" and no_engine.over_reason() == ""


def test_costs_durations_and_titles_read_as_people_write_them():
    assert format_cost(12345, True) == "≈ 12,345 tokens" and format_cost(7, False) == "7 tokens"
    assert format_duration(59.6) == "1:00" and format_duration(3725) == "1:02:05"
    assert format_seconds(0.2) == "1 s" and format_seconds(600) == "10 min"
    assert title_from("  what   is in this picture of my cat from last summer  ") == \
        "what is in this picture of my cat…"
    assert title_from("hi there") == "hi there"

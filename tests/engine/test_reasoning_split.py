"""The thinking/answer splitter against every split point of real tag sequences."""

from hypothesis import given, settings
from hypothesis import strategies as st

from mimo_desktop.engine.reasoning import ReasoningSplitter, split_whole

SAMPLES = [
    # (stream text, start_in_reasoning, expected reasoning, expected answer)
    ("The user asks about 猫.</think>\n\n这是一只猫 🐈.", True, "The user asks about 猫.", "\n\n这是一只猫 🐈."),
    ("<think>Let me look: é, ß, 😀</think>A cat.", False, "Let me look: é, ß, 😀", "A cat."),
    ("<think>\nhmm</think>answer with <b>html</b> and a lone < and </th", True, "\nhmm", "answer with <b>html</b> and a lone < and </th"),
    ("no thinking at all, just < an answer >", False, "", "no thinking at all, just < an answer >"),
    ("</think>straight to the answer", True, "", "straight to the answer"),
    ("<think>b</think>c<think>d</think>e", False, "b", "c<think>d</think>e"),
    ("an answer that mentions <think> tags", False, "", "an answer that mentions <think> tags"),
    ("plan it</think>Wrap your thoughts in <think> tags.", True, "plan it", "Wrap your thoughts in <think> tags."),
]


def stream(text, cuts, start_in_reasoning):
    splitter = ReasoningSplitter(start_in_reasoning=start_in_reasoning)
    reasoning, answer, prev = [], [], 0
    for cut in sorted(set(cuts)) + [len(text)]:
        for piece in splitter.feed(text[prev:cut]):
            (reasoning if piece.reasoning else answer).append(piece.text)
        prev = cut
    for piece in splitter.finish():
        (reasoning if piece.reasoning else answer).append(piece.text)
    return "".join(reasoning), "".join(answer)


def test_whole_texts_split_as_vllms_qwen3_parser_does():
    for text, start, reasoning, answer in SAMPLES:
        assert split_whole(text, start_in_reasoning=start) == (reasoning, answer), text


def test_every_single_split_point_of_every_sample():
    for text, start, reasoning, answer in SAMPLES:
        for cut in range(len(text) + 1):
            assert stream(text, [cut], start) == (reasoning, answer), (text, cut)


def test_every_pair_of_split_points_and_character_by_character():
    for text, start, reasoning, answer in SAMPLES:
        assert stream(text, range(len(text)), start) == (reasoning, answer)
        for a in range(len(text)):
            for b in range(a, len(text)):
                assert stream(text, [a, b], start) == (reasoning, answer), (text, a, b)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(["<think>", "</think>", "<", "</", "think>", "猫", "😀", "x", " ", "\n", "<th"]),
                   max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    start=st.booleans(),
)
def test_streaming_equals_whole_text_for_any_split(parts, cuts, start):
    text = "".join(parts)
    assert stream(text, [c for c in cuts if c <= len(text)], start) == split_whole(text, start_in_reasoning=start)


def test_nothing_is_held_back_longer_than_a_possible_tag():
    splitter = ReasoningSplitter(start_in_reasoning=False)
    assert [p.text for p in splitter.feed("an answer <")] == ["an answer "]
    assert [p.text for p in splitter.feed("3 is less")] == ["<3 is less"]


def test_a_stream_that_never_thinks_is_flagged_so_it_can_be_shown_as_the_answer():
    splitter = ReasoningSplitter(start_in_reasoning=True)
    splitter.feed("Plain answer from a template without thinking.")
    splitter.finish()
    assert splitter.never_closed
    closed = ReasoningSplitter(start_in_reasoning=True)
    closed.feed("thought</think>answer")
    assert not closed.never_closed

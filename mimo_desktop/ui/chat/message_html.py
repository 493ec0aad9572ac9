"""HTML for one message of the chat view: header, attachments, thinking, body, state, stats and actions.

Actions are links with the ``mimo:`` scheme (``mimo:regenerate/12``); the chat view handles them,
so they work with the mouse and with Tab + Enter like any link in a QTextBrowser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from mimo_desktop.core.conversation import GenerationStats, Message, MessageState, Role

from .media import attachment_tiles_html
from .markdown import fold_long_runs, has_long_runs, render_markdown
from ..window.theme import HtmlColors

ROLE_LABEL = {Role.USER: "You", Role.ASSISTANT: "MiMo", Role.SYSTEM: "System"}
SEP = " &nbsp;·&nbsp; "


@dataclass(frozen=True)
class Branch:
    """Where a message sits among its siblings: ``index`` of ``count`` (1-based)."""

    index: int
    count: int


def link(action: str, message_id: int, label: str, arg: str | None = None, color: str | None = None) -> str:
    href = f"mimo:{action}/{message_id}" + (f"/{arg}" if arg is not None else "")
    style = "text-decoration: none" + (f"; color: {color}" if color else "")
    return f"<a href='{href}' style='{style}'>{label}</a>"


ACTION_LABEL = {"copy": "❐ Copy", "copy-thinking": "❐ Copy with thinking", "edit": "✎ Edit",
                "retry": "↻ Retry", "regenerate": "↻ Regenerate"}


def header_html(msg: Message, colors: HtmlColors | None = None) -> str:
    who = ROLE_LABEL.get(msg.role, msg.role.value)
    color = f"; color:{colors.muted}" if colors is not None else ""
    # the anchor name marks where the message begins, for the hover actions
    return (f"<p style='margin-top:14px; margin-bottom:3px{color}'><small><b><a name='msg-{msg.id}'>{who}</a>"
            "</b></small></p>")


def attachments_html(msg: Message, colors: HtmlColors) -> str:
    """The message's media as tiles (thumbnail, poster, waveform) that open a viewer when clicked."""
    return attachment_tiles_html(msg.id, msg.attachments, colors.muted)


def thinking_facts(reasoning: str, seconds: float | None) -> str:
    words = len(reasoning.split())
    took = f", {seconds:.1f} s" if seconds is not None else ""
    return f"{words} word{'s' if words != 1 else ''}{took}"


def thinking_line_html(msg_id: int, reasoning: str, colors: HtmlColors, open_: bool,
                       seconds: float | None = None) -> str:
    """The toggle line alone: ▾ (open) or ▸ (folded), with how much was thought."""
    arrow = "▾" if open_ else "▸"
    return (f"<p style='margin:0; color:{colors.thinking}'>{link('thinking', msg_id, f'{arrow} Thinking')}"
            f" <small>({thinking_facts(reasoning, seconds)})</small></p>")


def thinking_collapsed_html(msg_id: int, reasoning: str, colors: HtmlColors, seconds: float | None = None) -> str:
    return thinking_line_html(msg_id, reasoning, colors, False, seconds)


def thinking_expanded_html(msg_id: int, reasoning: str, colors: HtmlColors, seconds: float | None = None) -> str:
    return thinking_line_html(msg_id, reasoning, colors, True, seconds) + reasoning_html(reasoning, colors, msg_id)


def thought_mark(msg_id: int) -> str:
    """The anchor name on the thinking text of a finished message: what folding it removes."""
    return f"thought-{msg_id}"


def reasoning_html(text: str, colors: HtmlColors, msg_id: int | None = None) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    open_, close = (f"<a name='{thought_mark(msg_id)}'>", "</a>") if msg_id is not None else ("", "")
    return "".join(
        f"<p style='color:{colors.thinking}; margin-left:12px'><i>{open_}"
        f"{html.escape(p.strip()).replace(chr(10), '<br/>')}{close}</i></p>"
        for p in paragraphs
    )


def user_body_html(text: str) -> str:
    return "<p>" + html.escape(fold_long_runs(text)).replace("\n", "<br/>") + "</p>"


def stats_text(stats: GenerationStats) -> str:
    parts = []
    if stats.output_tokens is not None:
        parts.append(f"{stats.output_tokens} tokens")
    if stats.ttft_s is not None:
        parts.append(f"first token {stats.ttft_s:.2f} s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tokens/s")
    if stats.acceptance_rate is not None:
        parts.append(f"MTP {stats.mtp_accepted or 0}/{stats.mtp_drafted} accepted ({stats.acceptance_rate:.0%})")
    return " · ".join(parts)


def failure_text(msg: Message) -> str:
    """What happened to a failed answer: none at all, or how far it got before it broke off."""
    error = msg.error or "unknown error"
    if not msg.text.strip() and not msg.reasoning.strip():
        return f"No answer: {error}"
    tokens = msg.stats.output_tokens
    got = f"after {tokens} token{'s' if tokens != 1 else ''}" if tokens else "part of the way"
    return f"Failed {got}: {error}"


def footer_html(msg: Message, branch: Branch | None, colors: HtmlColors) -> str:
    """State, statistics and actions under a message (nothing while it streams)."""
    if msg.state is MessageState.STREAMING:
        return ""
    bits: list[str] = []
    if msg.state is MessageState.STOPPED:
        note = "Stopped" + (f": {msg.error}" if msg.error else "")
        bits.append(f"<span style='color:{colors.warning}'><b>{html.escape(note)}</b></span>")
    elif msg.state is MessageState.FAILED:
        bits.append(f"<span style='color:{colors.error}'><b>{html.escape(failure_text(msg))}</b></span>")
    if msg.role is Role.ASSISTANT and msg.state is not MessageState.FAILED:  # a failure says how far it got
        stats = stats_text(msg.stats)
        if stats:
            bits.append(f"<span style='color:{colors.muted}'>{html.escape(stats)}</span>")
    def act(name: str, label: str | None = None) -> str:
        return link(name, msg.id, label or ACTION_LABEL[name], color=colors.action)

    actions = [act("copy")]
    if has_long_runs(msg.text):
        actions.append(act("show-all", f"⤢ Show all {len(msg.text):,} characters"))
    if msg.reasoning:
        actions.append(act("copy-thinking"))
    if msg.role is Role.USER:
        actions.append(act("edit"))
    elif msg.state in (MessageState.FAILED, MessageState.STOPPED):
        actions.append(act("retry"))
    else:
        actions.append(act("regenerate"))
    if branch is not None and branch.count > 1:
        actions.append(f"{link('branch', msg.id, '‹', '-1', colors.action)} {branch.index}/{branch.count} "
                       f"{link('branch', msg.id, '›', '1', colors.action)}")
    bits.append(f"<small>{SEP.join(actions)}</small>")
    return f"<p style='margin-top:2px; margin-bottom:6px'>{SEP.join(bits)}</p>"


def message_html(msg: Message, branch: Branch | None, colors: HtmlColors, *,
                 dark: bool = False, thinking_open: bool = False, body: str | None = None) -> str:
    """A finished message; ``body`` is its Markdown already rendered, where the caller kept it.

    The user's turns sit in a tinted card; the model's on the plain background, as chat apps do."""
    parts = [header_html(msg, colors), attachments_html(msg, colors)]
    if msg.reasoning:
        show = thinking_expanded_html if thinking_open else thinking_collapsed_html
        parts.append(show(msg.id, msg.reasoning, colors, msg.stats.thinking_s))
    if body is not None:
        parts.append(body)
    elif msg.role is Role.ASSISTANT:
        parts.append(render_markdown(msg.text, message_id=msg.id, dark=dark))
    else:
        parts.append(user_body_html(msg.text))
    parts.append(footer_html(msg, branch, colors))
    if msg.role is Role.USER:
        return user_card("".join(parts), colors)
    return "".join(parts)


def user_card(inner: str, colors: HtmlColors) -> str:
    return (f"<table width='100%' cellspacing='0' cellpadding='10' border='1'"
            f" style='border-collapse: collapse; border-color: {colors.user_edge}; margin-top: 10px'>"
            f"<tr><td bgcolor='{colors.user_turn}'>{inner}</td></tr></table>")

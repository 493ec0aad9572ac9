"""The chat view: messages as rich text, streaming, thinking blocks, media tiles and viewers, links."""

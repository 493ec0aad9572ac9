"""URLs as messages show them: never with the credentials a URL may carry. No dependencies, so the
settings can use it without loading the HTTP client."""

from __future__ import annotations

import re


def redact_url(text: str) -> str:
    """``http://user:pass@host:8000/v1`` → ``http://host:8000/v1``, anywhere in ``text``: credentials
    in a URL are never printed."""
    return _USERINFO.sub("//", text)


_USERINFO = re.compile(r"//[^/?#@\s]*@")

"""Credentials out of text: the one place that masks secrets before text is printed or logged.

Masked wherever they appear (a server may echo our request headers in its error body):

- the user info of any URL: `scheme://user:password@host` -> `scheme://***@host`;
- Basic credentials: `Basic <base64 of user:password>` -> `Basic ***`;
- bearer-style tokens of 8 characters or more: `Bearer|ApiKey|Token <token>` -> `Bearer ***`.

Pure regular expressions, so redaction works on any text, even a URL that does not parse.
"""

from __future__ import annotations

import base64
import binascii
import re

MASK = "***"
_URL_USERINFO = re.compile(r"(?<=://)[^/?#@\s]+@")
_BASIC = re.compile(r"\b(Basic\s+)([A-Za-z0-9+/]+={0,2})", re.I)
_TOKEN = re.compile(r"\b((?:Bearer|ApiKey|Token)\s+)[A-Za-z0-9+/=._~-]{8,}", re.I)


def redact(text: str) -> str:
    """`text` with URL user info and authorization credentials masked."""
    text = _URL_USERINFO.sub(MASK + "@", text)
    text = _BASIC.sub(_mask_basic, text)
    return _TOKEN.sub(lambda m: m.group(1) + MASK, text)


def redact_all(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`redact(text)`, also masking each known secret value (passwords, API keys) verbatim."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return redact(text)


def _mask_basic(match: re.Match[str]) -> str:
    """Mask `Basic <b64>` when the base64 really is `user:password` (not "Basic income")."""
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return match.group(1) + MASK if b":" in decoded else match.group(0)

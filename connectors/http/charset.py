"""Which charset to hand the HTML parser: the declared one, unless the bytes disprove it.

Servers often declare a charset that is wrong: most often a default ISO-8859-1 on a page
that is really UTF-8, or UTF-8 on a legacy page. Bytes that are valid UTF-8 and not plain
ASCII are UTF-8 whatever a Latin-1 header says. Bytes that do not decode with the declared
charset are decoded with the page's own `<meta charset>` when that works, else as UTF-8
if they are valid UTF-8, else with windows-1252, the fallback the HTML standard prescribes
(statistical detection guesses wrong on short texts). The fallback always applies: the five
bytes cp1252 leaves undefined are decoded with replacement (see `newsflow.extract`), never a
reason to drop the fallback. None only when no charset was declared, leaving detection to
the parser.
"""

from __future__ import annotations

import codecs
import re

_SINGLE_BYTE_DEFAULTS = frozenset({"latin-1", "iso8859-1", "cp1252", "ascii"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
HTML_FALLBACK = "cp1252"


def effective_charset(content: bytes, declared: str | None) -> str | None:
    """The charset to decode `content` with, or None to let the parser detect it."""
    if not declared:
        return None
    codec = _decodes(content, declared)
    if codec in _SINGLE_BYTE_DEFAULTS and not content.isascii() and _decodes(content, "utf-8"):
        return "utf-8"
    if codec:
        return codec
    meta = _META_CHARSET.search(content[:4096])
    from_meta = _decodes(content, meta.group(1).decode("ascii")) if meta else None
    return from_meta or _decodes(content, "utf-8") or HTML_FALLBACK


def _decodes(content: bytes, charset: str) -> str | None:
    """The codec name of `charset` if `content` decodes with it, else None."""
    try:
        codec = codecs.lookup(charset).name
        content.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None
    return codec

"""What a fetch returns: `Page`, a response whose body was capped and decompressed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from connectors.http.charset import effective_charset


@dataclass(frozen=True)
class Page:
    """A fetched response: the body is decompressed and never longer than the byte cap."""

    url: str
    final_url: str
    status: int
    content: bytes
    media_type: str | None
    charset: str | None
    headers: Mapping[str, str]
    fetched_at: datetime

    @cached_property
    def decoding_charset(self) -> str | None:
        """The charset to parse the body with: the declared one unless the bytes disprove it."""
        return effective_charset(self.content, self.charset)

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional request (the body is empty)."""
        return self.status == 304

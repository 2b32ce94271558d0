"""What a fetch returns or raises: `Page` and `FetchError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from connectors.http.charset import effective_charset
from newsflow.outcomes import Skip, SkipReason
from newsflow.redact import redact


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


class FetchError(Exception):
    """A fetch that produced no usable page, with a stable reason code."""

    def __init__(
        self,
        url: str,
        reason: SkipReason,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.url = url
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(redact(f"{reason}: {url}" + (f" ({detail})" if detail else "")))

    def as_skip(self) -> Skip:
        """The failure as a `Skip` for the run report."""
        return Skip(url=self.url, reason=self.reason, detail=self.detail)

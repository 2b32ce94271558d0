"""What a fetch raises: `FetchError`, with a reason code and whether it may heal by itself."""

from __future__ import annotations

from newsflow.outcomes import Skip, SkipReason
from newsflow.redact import redact

TRANSIENT_REASONS = frozenset(
    {SkipReason.TIMEOUT, SkipReason.CONNECT_ERROR, SkipReason.RATE_LIMITED}
)


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

    @property
    def transient(self) -> bool:
        """True for failures worth retrying later: timeouts, connection errors, 429 and 5xx."""
        if self.reason is SkipReason.HTTP_STATUS:
            return self.status is not None and (self.status == 429 or self.status >= 500)
        return self.reason in TRANSIENT_REASONS

    def as_skip(self) -> Skip:
        """The failure as a `Skip` for the run report."""
        return Skip(self.url, self.reason, self.detail, transient=self.transient)

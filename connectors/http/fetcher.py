"""The fetcher: one GET with redirects followed by hand, every hop checked and capped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from urllib.parse import urljoin

import httpcore
import httpx
import idna

from connectors.http.addresses import AddressPolicy
from connectors.http.decoding import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    BoundedDecoder,
    UnsupportedEncoding,
)
from connectors.http.errors import FetchError
from connectors.http.headers import (
    Accept,
    content_type_refusal,
    parse_content_type,
    parse_retry_after,
)
from connectors.http.page import Page
from connectors.http.politeness import HostBackingOff, HostLimits, shared_host_limits
from connectors.http.robots import RobotsCache
from connectors.http.transport import (
    BlockedAddress,
    GuardedBackend,
    guarded_transport,
    is_ip_literal,
)
from newsflow.config import FetchSettings
from newsflow.outcomes import SkipReason
from newsflow.redact import redact

log = logging.getLogger("newsflow.fetch")

ROBOTS_MAX_BYTES = 512 * 1024
DRAIN_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BACK_OFF_STATUSES = frozenset({429, 503})
_ACCEPT_HEADERS: dict[str, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,"
    "application/xml;q=0.9,text/xml;q=0.9,application/json;q=0.8,*/*;q=0.1",
    "any": "*/*",
}


def user_agent(settings: FetchSettings) -> str:
    """The User-Agent: the configured one, plus the contact URL when one is configured."""
    if settings.contact_url and settings.contact_url not in settings.user_agent:
        return f"{settings.user_agent} (contact: {settings.contact_url})"
    return settings.user_agent


class Fetcher:
    """Fetches pages and feeds from the open web, politely and defensively.

    Use as `async with Fetcher(settings) as fetcher: page = await fetcher.fetch(url)`.
    Every failure raises `FetchError` with a `SkipReason`; `counters` tallies outcomes.
    """

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.policy = AddressPolicy.from_cidrs(settings.allowed_networks)
        self.counters: Counter[str] = Counter()
        self._agent = user_agent(settings)
        self._backend = GuardedBackend(self.policy, on_refused=self._log_refusal)
        self._client: httpx.AsyncClient | None = None
        self._limits: HostLimits | None = None
        self._slots: asyncio.Semaphore | None = None
        self._robots = RobotsCache(self._fetch_robots, "newsflow", settings.robots_ttl_s)

    async def __aenter__(self) -> Fetcher:
        settings = self.settings
        self._client = httpx.AsyncClient(
            transport=guarded_transport(self._backend, max_connections=settings.concurrency),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_s,
                read=settings.read_timeout_s,
                write=settings.read_timeout_s,
                pool=None,
            ),
            headers={"User-Agent": self._agent, "Accept-Encoding": ACCEPT_ENCODING},
        )
        self._limits = shared_host_limits(
            settings.per_host_concurrency, settings.per_host_rate, settings.max_retry_wait_s
        )
        self._slots = asyncio.Semaphore(settings.concurrency)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self,
        url: str,
        *,
        accept: Accept = "any",
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        """GET `url`; raises `FetchError` with a reason code instead of returning bad pages.

        `accept="html"` also honours robots.txt and refuses non-HTML types; `accept="feed"`
        refuses anything but XML/RSS/Atom/JSON. A 304 is returned as a page with no body.
        """
        return await self._fetch(url, accept, headers or {}, self.settings.max_bytes)

    async def _fetch(
        self, url: str, accept: Accept, headers: Mapping[str, str], max_bytes: int
    ) -> Page:
        try:
            page = await self._follow(url, accept, headers, max_bytes)
        except FetchError as exc:
            self.counters[str(exc.reason)] += 1
            log.info("fetch failed: %s", exc)
            raise
        self.counters["not-modified" if page.not_modified else "ok"] += 1
        return page

    async def _fetch_robots(self, url: str) -> Page:
        return await self._fetch(url, "any", {}, ROBOTS_MAX_BYTES)

    async def _follow(
        self, url: str, accept: Accept, headers: Mapping[str, str], max_bytes: int
    ) -> Page:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target = _checked_url(url, current)
            await self._check_address(url, target)
            if accept == "html" and self.settings.respect_robots:
                await self._obey_robots(url, target)
            result = await self._request(url, target, accept, headers, max_bytes)
            if isinstance(result, Page):
                return result
            current = result
        raise FetchError(
            url, SkipReason.TOO_MANY_REDIRECTS, f"more than {self.settings.max_redirects}"
        )

    async def _check_address(self, url: str, target: httpx.URL) -> None:
        """Refuse a hop whose host resolves only to refused addresses, before robots.txt and
        before a per-host slot: a feed of refused links must not queue behind the spacing.

        The connection itself is checked again when it is opened (see `GuardedBackend`).
        """
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            await self._backend.resolve(target.host, port, self.settings.connect_timeout_s)
        except BlockedAddress as exc:
            raise FetchError(url, SkipReason.BLOCKED_ADDRESS, exc.reason) from exc
        except httpcore.ConnectTimeout as exc:
            raise FetchError(url, SkipReason.TIMEOUT, str(exc)) from exc
        except httpcore.ConnectError as exc:
            raise FetchError(url, SkipReason.CONNECT_ERROR, str(exc)) from exc

    async def _obey_robots(self, url: str, target: httpx.URL) -> None:
        """Raise `ROBOTS_DISALLOWED` unless robots.txt allows `target`; apply Crawl-delay."""
        assert self._limits is not None
        try:
            answer = await self._robots.ask(str(target))
        except FetchError as exc:
            raise FetchError(url, exc.reason, exc.detail) from exc
        if not answer.allowed:
            raise FetchError(url, SkipReason.ROBOTS_DISALLOWED, answer.note)
        if answer.crawl_delay_s:
            self._limits.space_at_least(target.netloc.decode("ascii"), answer.crawl_delay_s)

    async def _request(
        self,
        url: str,
        target: httpx.URL,
        accept: Accept,
        headers: Mapping[str, str],
        max_bytes: int,
    ) -> Page | str:
        """One hop: a page, or the absolute URL a redirect points to."""
        assert self._client is not None and self._limits is not None and self._slots is not None
        host = target.netloc.decode("ascii")
        request_headers = {"Accept": _ACCEPT_HEADERS[accept], **headers}
        try:
            async with self._limits.slot(host), self._slots:
                async with asyncio.timeout(self.settings.total_timeout_s):
                    async with self._client.stream(
                        "GET", target, headers=request_headers
                    ) as response:
                        return await self._read(url, response, accept, max_bytes)
        except HostBackingOff as exc:
            raise FetchError(url, SkipReason.RATE_LIMITED, str(exc)) from exc
        except BlockedAddress as exc:
            raise FetchError(url, SkipReason.BLOCKED_ADDRESS, exc.reason) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise FetchError(url, SkipReason.TIMEOUT, type(exc).__name__) from exc
        except (httpx.ConnectError, httpx.NetworkError) as exc:
            raise FetchError(url, SkipReason.CONNECT_ERROR, str(exc)) from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, SkipReason.BAD_RESPONSE, str(exc)) from exc
        except ValueError as exc:
            # httpx reads a redirect's Location even when not following it, and lets IDNA
            # errors of its host (`http://xn--/`) through: one unusable item, not a crash.
            raise FetchError(url, SkipReason.INVALID_URL, f"unusable URL: {exc}") from exc

    async def _read(
        self, url: str, response: httpx.Response, accept: Accept, max_bytes: int
    ) -> Page | str:
        status = response.status_code
        location: str | None = response.headers.get("location")
        if status in _REDIRECTS and location:
            await _drain(response)
            return _redirect_target(url, str(response.url), location)
        if status >= 300 and status != 304:
            await _drain(response)
            raise self._status_error(url, response)
        media_type, charset = parse_content_type(response.headers.get("content-type"))
        content = b""
        if status == 304:
            await _drain(response)
        else:
            refusal = content_type_refusal(accept, media_type)
            if refusal is not None:
                await _drain(response)
                raise FetchError(url, refusal, f"content-type {media_type}")
            content = await _read_body(url, response, max_bytes)
        return Page(
            url=url,
            final_url=str(response.url),
            status=status,
            content=content,
            media_type=media_type,
            charset=charset,
            headers=MappingProxyType({k.lower(): v for k, v in response.headers.items()}),
            fetched_at=datetime.now(UTC),
        )

    def _status_error(self, url: str, response: httpx.Response) -> FetchError:
        assert self._limits is not None
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None and status in _BACK_OFF_STATUSES:
            self._limits.back_off(response.url.netloc.decode("ascii"), retry_after)
        detail = f"HTTP {status}" + (f", retry after {retry_after:.0f}s" if retry_after else "")
        return FetchError(
            url, SkipReason.HTTP_STATUS, detail, status=status, retry_after_s=retry_after
        )

    def _log_refusal(self, refused: BlockedAddress) -> None:
        self.counters["refused-address"] += 1
        log.warning("refused to connect to %s: %s", refused.host, refused.reason)


def _redirect_target(url: str, base: str, location: str) -> str:
    """The absolute URL a `Location` header points to, or `FetchError(INVALID_URL)`."""
    try:
        return urljoin(base, location.strip())
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise FetchError(url, SkipReason.INVALID_URL, f"redirect target: {exc}") from exc


def _checked_url(url: str, current: str) -> httpx.URL:
    """`current` as an absolute http(s) URL that can be resolved and connected to, or
    `FetchError(INVALID_URL)`: a port out of range or a host name that IDNA refuses (empty or
    over-long labels, malformed `xn--` labels) ends here, as one skipped item."""
    try:
        target = httpx.URL(current)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError(f"not an http(s) URL: {redact(current)}")
        if target.port is not None and not 0 < target.port <= 65535:
            raise ValueError(f"port {target.port} out of range")
        _check_host_name(target.raw_host.decode("ascii"))
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # UnicodeError is a ValueError
        raise FetchError(url, SkipReason.INVALID_URL, str(exc)) from exc
    return target


def _check_host_name(host: str) -> None:
    """Raise `UnicodeError` for a host name (ASCII form) that name resolution would refuse."""
    if host.startswith("[") or is_ip_literal(host):
        return
    host.encode("idna")  # label lengths, as the resolver checks them
    for label in host.split("."):
        if label.lower().startswith("xn--"):
            idna.decode(label)


async def _drain(response: httpx.Response) -> None:
    """Read a small unwanted body (declared length up to `DRAIN_BYTES`) to its end.

    httpcore reuses a connection only after the whole response was read; a larger or
    unknown-length body is not read, and its connection is closed instead.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= DRAIN_BYTES:
        with contextlib.suppress(httpx.HTTPError):
            async for _chunk in response.aiter_raw():
                pass


async def _read_body(url: str, response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, raising `FetchError(TOO_LARGE)` as soon as it passes `max_bytes`.

    The raw (still compressed) stream is capped too, so a never-ending body stops early.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, SkipReason.TOO_LARGE, f"content-length {declared} > {max_bytes}")
    try:
        decoder = BoundedDecoder(response.headers.get("content-encoding"), max_bytes)
        parts: list[bytes] = []
        raw_size = 0
        async for chunk in response.aiter_raw():
            raw_size += len(chunk)
            if raw_size > max_bytes:
                raise BodyTooLarge(f"body exceeds {max_bytes} bytes")
            parts.append(decoder.feed(chunk))
        parts.append(decoder.finish())
    except BodyTooLarge as exc:
        raise FetchError(url, SkipReason.TOO_LARGE, str(exc)) from exc
    except UnsupportedEncoding as exc:
        raise FetchError(url, SkipReason.BAD_RESPONSE, str(exc)) from exc
    return b"".join(parts)

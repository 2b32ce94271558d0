"""The fetcher against a misbehaving loopback server: each misbehaviour and its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

import pytest

from connectors.http import Fetcher, FetchError, Page
from connectors.http.politeness import shared_host_limits
from newsflow.config import FetchSettings
from newsflow.extract import PageInput, extract_article
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from tests.http.server import ACCENTED_TEXT, BOMB_SIZE, HTML, MisbehavingServer

pytestmark = pytest.mark.integration
T = TypeVar("T")


def run(settings: FetchSettings, action: Callable[[Fetcher], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Fetcher(settings) as fetcher:
            return await action(fetcher)

    return asyncio.run(main())


def fetch(settings: FetchSettings, url: str, **kwargs: object) -> Page:
    return run(settings, lambda fetcher: fetcher.fetch(url, **kwargs))  # type: ignore[arg-type]


def failure(settings: FetchSettings, url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(settings, url, **kwargs)
    return caught.value


def test_plain_page(web: MisbehavingServer, settings: FetchSettings) -> None:
    page = fetch(settings, f"{web.base_url}/ok", accept="html")
    assert page.status == 200
    assert page.content == HTML
    assert page.media_type == "text/html"
    assert page.charset == "utf-8"
    assert page.final_url == f"{web.base_url}/ok"
    assert page.fetched_at.tzinfo is not None
    assert web.recorder.headers[-1]["user-agent"].startswith("newsflow/")


def test_loopback_refused_without_allow_list(web: MisbehavingServer) -> None:
    error = failure(FetchSettings(), f"{web.base_url}/ok")
    assert error.reason is SkipReason.BLOCKED_ADDRESS
    assert "loopback" in error.detail
    assert web.recorder.paths == []


def test_host_name_resolving_to_loopback_refused(web: MisbehavingServer) -> None:
    port = web.server_address[1]
    error = failure(FetchSettings(), f"http://localhost:{port}/ok")
    assert error.reason is SkipReason.BLOCKED_ADDRESS
    assert web.recorder.paths == []


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/ok", "http://[::ffff:127.0.0.2]:{port}/ok"]
)
def test_redirect_to_blocked_address_refused(
    web: MisbehavingServer, settings: FetchSettings, target: str
) -> None:
    to = target.format(port=web.server_address[1])
    error = failure(settings, f"{web.base_url}/redirect?to={to}")
    assert error.reason is SkipReason.BLOCKED_ADDRESS
    assert web.recorder.hits["/ok"] == 0


def test_gzip_bomb_stops_at_the_cap(web: MisbehavingServer, settings: FetchSettings) -> None:
    assert len(web.bomb) < settings.max_bytes < BOMB_SIZE
    error = failure(settings, f"{web.base_url}/bomb")
    assert error.reason is SkipReason.TOO_LARGE


def test_endless_body_stops_at_the_cap(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/endless")
    assert error.reason is SkipReason.TOO_LARGE


def test_slow_response_times_out(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/slow")
    assert error.reason is SkipReason.TIMEOUT


def test_redirect_loop_stops(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/loop")
    assert error.reason is SkipReason.TOO_MANY_REDIRECTS
    assert web.recorder.hits["/loop"] == settings.max_redirects + 1


def test_not_html_refused(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/pdf", accept="html")
    assert error.reason is SkipReason.NOT_HTML


def test_html_is_not_a_feed(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/ok", accept="feed")
    assert error.reason is SkipReason.NOT_A_FEED


def test_status_error_carries_status(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/missing")
    assert error.reason is SkipReason.HTTP_STATUS
    assert error.status == 404


def extracted_text(page: Page) -> str:
    item = SourceItem(url=page.url)
    input_page = PageInput(page.content, page.final_url, page.fetched_at, page.decoding_charset)
    article = extract_article(input_page, item)
    assert not isinstance(article, Skip), article
    return article.text


@pytest.mark.parametrize(
    ("path", "declared", "used"),
    [
        ("latin1", "windows-1252", "cp1252"),  # a legacy charset, declared correctly
        ("mislabelled", "utf-8", "cp1252"),  # cp1252 bytes sent as UTF-8: the HTML fallback
        ("mislabelled-undefined", "utf-8", "cp1252"),  # ... with a byte cp1252 leaves undefined
        ("utf8-as-latin1", "iso-8859-1", "utf-8"),  # a server's default Latin-1 on UTF-8
    ],
)
def test_non_utf8_and_wrong_charsets_decode_correctly(
    web: MisbehavingServer, settings: FetchSettings, path: str, declared: str, used: str | None
) -> None:
    page = fetch(settings, f"{web.base_url}/{path}", accept="html")
    assert page.charset == declared
    assert page.decoding_charset == used
    assert ACCENTED_TEXT in extracted_text(page)


def test_robots_disallow_honoured(web: MisbehavingServer, settings: FetchSettings) -> None:
    error = failure(settings, f"{web.base_url}/private/secret", accept="html")
    assert error.reason is SkipReason.ROBOTS_DISALLOWED
    assert web.recorder.hits["/private/secret"] == 0
    assert web.recorder.hits["/robots.txt"] == 1


def test_etag_gives_304(web: MisbehavingServer, settings: FetchSettings) -> None:
    first = fetch(settings, f"{web.base_url}/feed", accept="feed")
    second = fetch(
        settings,
        f"{web.base_url}/feed",
        accept="feed",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert second.not_modified
    assert second.content == b""


def test_refusal_is_logged_and_counted_without_credentials(
    web: MisbehavingServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://reader:s3cret@localhost:{web.server_address[1]}/ok"

    async def attempt(fetcher: Fetcher) -> int:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
        assert "s3cret" not in str(caught.value) and "s3cret" not in str(caught.value.as_skip())
        return fetcher.counters["refused-address"]

    with caplog.at_level("INFO", logger="newsflow.fetch"):
        assert run(FetchSettings(), attempt) == 1
    assert "refused to connect to localhost" in caplog.text and "loopback" in caplog.text
    assert "s3cret" not in caplog.text
    assert web.recorder.paths == []


def test_one_run_with_every_misbehaviour_loses_nothing_else(
    web: MisbehavingServer, other_web: MisbehavingServer, settings: FetchSettings
) -> None:
    """All misbehaviours at once in one fetcher: each fails alone, the good pages all arrive."""
    port = web.server_address[1]
    expected: dict[str, SkipReason | None] = {
        "/ok": None,
        "/latin1": None,
        "/ok?again=1": None,
        "/bomb": SkipReason.TOO_LARGE,
        "/endless": SkipReason.TOO_LARGE,
        "/slow": SkipReason.TIMEOUT,
        "/loop": SkipReason.TOO_MANY_REDIRECTS,
        f"/redirect?to=http://127.0.0.2:{port}/ok": SkipReason.BLOCKED_ADDRESS,
        "/flaky": SkipReason.HTTP_STATUS,
        "/private/article": SkipReason.ROBOTS_DISALLOWED,
        "/pdf": SkipReason.NOT_HTML,
    }

    async def everything(fetcher: Fetcher) -> dict[str, SkipReason | None]:
        async def one(path: str) -> SkipReason | None:
            try:
                page = await fetcher.fetch(web.base_url + path, accept="html")
            except FetchError as exc:
                return exc.reason
            assert page.content
            return None

        async def limited() -> SkipReason | None:
            try:
                await fetcher.fetch(f"{other_web.base_url}/limited")
            except FetchError as exc:
                return exc.reason
            return None

        *outcomes, too_many = await asyncio.gather(*(one(p) for p in expected), limited())
        assert too_many is SkipReason.HTTP_STATUS  # 429 on another host holds only that host
        return dict(zip(expected, outcomes, strict=True))

    assert run(settings, everything) == expected
    assert web.recorder.hits["/robots.txt"] == 1  # cached: asked once for all these fetches
    assert web.recorder.hits["/private/article"] == 0


def test_retry_after_holds_the_host(web: MisbehavingServer, settings: FetchSettings) -> None:
    """After a 429 with Retry-After: 120, the next request to that host fails fast."""

    async def twice(fetcher: Fetcher) -> tuple[FetchError, FetchError]:
        errors = []
        for path in ("/limited", "/ok"):
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(web.base_url + path)
            errors.append(caught.value)
        return errors[0], errors[1]

    first, second = run(settings, twice)
    assert first.reason is SkipReason.HTTP_STATUS and first.status == 429
    assert first.retry_after_s == 120
    assert second.reason is SkipReason.RATE_LIMITED
    assert web.recorder.hits["/ok"] == 0


@pytest.mark.parametrize(
    "target",
    ["http://xn--/", "http://127.0.0.1:70000/", "http://a..b/", "http://x." + "a" * 64 + "/"],
)
def test_redirect_to_an_unusable_url_is_invalid_url(
    web: MisbehavingServer, settings: FetchSettings, target: str
) -> None:
    error = failure(settings, f"{web.base_url}/redirect?to={quote(target, safe='')}")
    assert error.reason is SkipReason.INVALID_URL


def test_refused_address_is_refused_before_robots_and_any_host_slot(
    settings: FetchSettings,
) -> None:
    """A feed of 100,000 refused links must not queue each one behind the per-host spacing."""
    spaced = settings.model_copy(update={"per_host_rate": 0.001})  # one start per 1000 s

    async def action(fetcher: Fetcher) -> list[FetchError]:
        errors = []
        for n in range(50):
            try:
                await fetcher.fetch(f"http://10.0.0.1/article/{n}", accept="html")
            except FetchError as exc:
                errors.append(exc)
        limits = shared_host_limits(
            spaced.per_host_concurrency, spaced.per_host_rate, spaced.max_retry_wait_s
        )
        assert limits.reserve("10.0.0.1") == 0  # no start was ever booked for the host
        return errors

    errors = run(spaced, action)
    assert [e.reason for e in errors] == [SkipReason.BLOCKED_ADDRESS] * 50

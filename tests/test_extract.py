from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trafilatura

from newsflow.extract import ExtractBudget, PageInput, article_from_text, extract_article
from newsflow.outcomes import Skip, SkipReason
from newsflow.sources import SourceItem
from newsflow.urls import article_id
from schemas import Article

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
SAMPLE_EVERY = 16  # 25 of the 400 corpus pages: enough variety, still fast


def corpus_sample(corpus_dir: Path) -> list[tuple[Path, str]]:
    manifest = json.loads((corpus_dir.parent / "manifest.json").read_text(encoding="utf-8"))
    entries = sorted(manifest, key=lambda e: e["file"])[::SAMPLE_EVERY]
    return [(corpus_dir / e["file"], e["url"]) for e in entries]


def extract(content: bytes, url: str, charset: str | None = None) -> Article | Skip:
    return extract_article(PageInput(content, url, NOW, charset), SourceItem(url=url))


def test_corpus_pages_lose_nothing_trafilatura_finds(corpus_dir: Path) -> None:
    """Every line bare `trafilatura.extract` finds is in the article's text or comments."""
    compared = 0
    for path, url in corpus_sample(corpus_dir):
        content = path.read_bytes()
        reference = trafilatura.extract(content, url=url)
        outcome = extract(content, url)
        if reference is None or len(reference) < 80:
            continue
        assert isinstance(outcome, Article), f"{path.name}: {outcome}"
        ours = outcome.text + "\n" + outcome.comments
        missing = [line for line in reference.splitlines() if line.strip() and line not in ours]
        assert not missing, f"{path.name} lost {len(missing)} line(s), e.g. {missing[0]!r}"
        compared += 1
    assert compared >= 15


def test_metadata_of_a_real_news_page(corpus_dir: Path) -> None:
    manifest = json.loads((corpus_dir.parent / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest if "wien.orf.at" in e["url"])
    article = extract((corpus_dir / entry["file"]).read_bytes(), entry["url"])
    assert isinstance(article, Article)
    assert article.title == "Chronik: Lotte Tobisch ist tot"
    assert article.published_at == datetime(2019, 10, 19, tzinfo=UTC)
    assert article.source == "wien.ORF.at"
    assert article.authors, "the page names its authors"
    assert article.id == article_id(article.canonical_url)
    assert article.lead and article.text.startswith(article.lead.split("\n")[0][:40])


def page(body: str, head: str = "") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


ARTICLE_BODY = (
    "<article><h1>Title here</h1>" + "<p>" + "Real sentence of news. " * 12 + "</p></article>"
)


def test_declared_charset_is_used_for_bytes_without_meta() -> None:
    text = "Übergrößenträger äußern sich zur Straßenbahn. " * 6
    content = page(f"<article><p>{text}</p></article>").replace(b"<html>", b"<html>")
    latin1 = content.decode().encode("latin-1")
    outcome = extract(latin1, "https://zeitung.example.de/a", charset="iso-8859-1")
    assert isinstance(outcome, Article)
    assert "Übergrößenträger äußern" in outcome.text


def test_unknown_declared_charset_falls_back_to_detection() -> None:
    outcome = extract(page(ARTICLE_BODY), "https://x.example/a", charset="no-such-charset")
    assert isinstance(outcome, Article)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\xff\xfe garbage", page("<nav>menu</nav>"), b"<html><body>short</body></html>"],
)
def test_pages_without_a_body_are_recorded_skips(content: bytes) -> None:
    outcome = extract(content, "https://x.example/empty")
    assert isinstance(outcome, Skip)
    assert outcome.reason in (SkipReason.NO_CONTENT, SkipReason.EXTRACT_ERROR)
    assert outcome.url == "https://x.example/empty"


def test_canonical_link_on_the_same_site_is_followed() -> None:
    head = '<link rel="canonical" href="https://www.example.com/story?utm_source=x">'
    outcome = extract(page(ARTICLE_BODY, head), "https://m.example.com/story?ref=app")
    assert isinstance(outcome, Article)
    assert outcome.canonical_url == "https://www.example.com/story"
    assert outcome.url == "https://m.example.com/story?ref=app"


def test_canonical_link_to_another_site_is_ignored() -> None:
    head = '<link rel="canonical" href="https://victim.example.org/their-story">'
    outcome = extract(page(ARTICLE_BODY, head), "https://attacker.example.net/page")
    assert isinstance(outcome, Article)
    assert outcome.canonical_url == "https://attacker.example.net/page"


def test_article_from_text_takes_the_headline_line(seeds_dir: Path) -> None:
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    item = SourceItem(url="https://news.example.com/x", source="Wire", published_at=NOW, text=text)
    article = article_from_text(item, NOW)
    assert isinstance(article, Article)
    assert article.title == "Alibaba gears up Chinese AI competition with launch of DeepSeek rival"
    assert article.text.startswith("Chinese tech giant Alibaba announced Thursday")
    assert article.published_at == NOW and article.source == "Wire"


def test_article_from_text_refuses_empty_text_and_bad_urls() -> None:
    assert isinstance(article_from_text(SourceItem(url="https://x.example/", text=" "), NOW), Skip)
    skip = article_from_text(SourceItem(url="not a url", text="Body. " * 40), NOW)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.INVALID_URL


def test_threads_take_turns_and_get_what_one_thread_gets(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trafilatura can crash the process when threads extract at once (adbar/trafilatura#840)."""
    pages = [(path.read_bytes(), url) for path, url in corpus_sample(corpus_dir)]
    alone = [extract(content, url) for content, url in pages]
    inside, most_inside = 0, 0
    count = threading.Lock()
    real_extraction = trafilatura.bare_extraction

    def counted_extraction(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most_inside
        with count:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            return real_extraction(*args, **kwargs)
        finally:
            with count:
                inside -= 1

    monkeypatch.setattr(trafilatura, "bare_extraction", counted_extraction)
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda page: extract(*page), pages))
    assert most_inside == 1
    assert together == alone


def test_extract_budget_cuts_at_a_tag_start() -> None:
    budget = ExtractBudget(max_bytes=20, max_tags=3)
    assert budget.cut(b"<a><b><c>") == b"<a><b><c>"  # within the budget: unchanged
    assert budget.cut(b"<a><b><c><d>tail") == b"<a><b><c>"  # the fourth tag is cut
    assert budget.cut(b"<p>one</p><p>two three four") == b"<p>one</p>"  # bytes: no half tag
    assert budget.cut(b"x" * 30) == b"x" * 20

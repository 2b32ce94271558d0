"""Every article gets a language code: from its text, the page's declaration as a fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsflow.extract import PageInput, article_from_text, extract_article
from newsflow.language import declared_code, language_of
from newsflow.sources import SourceItem
from schemas import Article
from tests.test_extract import corpus_sample

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
GERMAN = (
    "Die Europäische Zentralbank hat den Leitzins erneut gesenkt. Die Inflation im Euroraum "
    "geht zurück, die Wirtschaft wächst kaum, sagte die Präsidentin am Donnerstag in Frankfurt."
)


def _page(lang: str, body: str) -> bytes:
    paragraphs = "".join(f"<p>{body}</p>" for _ in range(3))
    return (
        f'<html lang="{lang}"><head><title>Titel</title></head><body><article>'
        f"<h1>Titel</h1>{paragraphs}</article></body></html>"
    ).encode()


def test_the_text_decides_over_a_wrong_declaration() -> None:
    assert language_of("EZB senkt Zinsen", GERMAN, declared="en-US") == "de"


def test_a_declaration_counts_when_the_text_says_too_little() -> None:
    assert language_of("", "OK 2025 12:30", declared="pt-BR") == "pt"
    assert language_of("", "OK 2025 12:30", declared="<script>") != "<script>"


def test_declared_codes_are_reduced_to_their_primary_subtag() -> None:
    assert declared_code("de-AT") == "de"
    assert declared_code("EN_gb") == "en"
    assert declared_code(" fr ") == "fr"
    for bad in (None, "", "english", "e", "12", "<b>"):
        assert declared_code(bad) is None


def test_every_language_of_the_multilingual_set_is_recognised(repo_root: Path) -> None:
    from benchmarks.cluster_data import read_labelled

    rows = read_labelled(repo_root / "benchmarks/data/multilingual/events-2025-03.jsonl")
    for row in rows:
        assert language_of(row.doc.title, row.doc.text) == row.doc.language, row.doc.id


def test_extracted_pages_carry_the_language_of_their_text() -> None:
    url = "https://news.example.com/ezb"
    for declared in ("en", "de-DE", ""):
        page = PageInput(_page(declared, GERMAN), url, NOW)
        article = extract_article(page, SourceItem(url=url))
        assert isinstance(article, Article)
        assert article.language == "de"


def test_replayed_texts_carry_a_language() -> None:
    item = SourceItem(url="https://news.example.com/a", text=f"EZB senkt Zinsen\n\n{GERMAN}")
    article = article_from_text(item, NOW)
    assert isinstance(article, Article)
    assert article.language == "de"


def test_every_corpus_page_gets_a_language_code(corpus_dir: Path) -> None:
    """trafilatura's metadata names no language for these pages; every article has one."""
    languages = []
    for path, url in corpus_sample(corpus_dir):
        article = extract_article(PageInput(path.read_bytes(), url, NOW), SourceItem(url=url))
        if isinstance(article, Article):
            assert article.language is not None
            assert declared_code(article.language) == article.language
            languages.append(article.language)
    assert len(languages) >= 15
    assert {"de", "en"} <= set(languages)

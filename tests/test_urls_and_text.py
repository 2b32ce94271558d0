from __future__ import annotations

import pytest

from newsflow.text import content_hash, headline_and_body, lead_of
from newsflow.urls import article_id, canonicalize, host_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News?b=2&a=1#top", "https://www.example.com/News?a=1&b=2"),
        ("http://example.com:80", "http://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=x&fbclid=1&gclid=2&id=7",
            "https://example.com/a?id=7",
        ),
        ("https://example.com./a", "https://example.com/a"),
    ],
)
def test_canonicalize(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


@pytest.mark.parametrize("bad", ["ftp://example.com/x", "/relative/path", "mailto:a@b.c", ""])
def test_canonicalize_refuses_non_http_urls(bad: str) -> None:
    with pytest.raises(ValueError):
        canonicalize(bad)


def test_article_id_is_stable_and_tracking_blind() -> None:
    first = article_id(canonicalize("https://Example.com/a?utm_campaign=x"))
    second = article_id(canonicalize("https://example.com/a#comments"))
    assert first == second
    assert len(first) == 24 and int(first, 16) >= 0
    assert first != article_id(canonicalize("https://example.com/b"))


def test_host_of_drops_www() -> None:
    assert host_of("https://www.Example.org/x") == "example.org"


def test_content_hash_ignores_spacing_and_case_only() -> None:
    assert content_hash("Hello  World\n") == content_hash("hello world")
    assert content_hash("Hello World") != content_hash("Hello, World")


def test_lead_takes_opening_paragraphs_up_to_a_cap() -> None:
    text = "Short one.\n" + "Second paragraph " * 20 + "\nThird."
    lead = lead_of(text, min_chars=50, max_chars=120)
    assert lead.startswith("Short one.\nSecond paragraph")
    assert len(lead) <= 121 and lead.endswith("…")
    assert "Third" not in lead


def test_headline_and_body_with_a_headline_line() -> None:
    title, body = headline_and_body("Big news today\n\nFirst paragraph.\nSecond.")
    assert (title, body) == ("Big news today", "First paragraph.\nSecond.")


def test_headline_and_body_without_a_headline_uses_first_sentence() -> None:
    text = "Hong Kong — A company did a thing. Then more happened.\nNext paragraph."
    title, body = headline_and_body(text)
    assert title == "Hong Kong — A company did a thing."
    assert body == text


def test_long_first_sentence_is_cut_at_a_word() -> None:
    text = "Word " * 60 + "end. Next sentence."
    title, _ = headline_and_body(text)
    assert title.endswith("Word…") and len(title) <= 201

"""The pure helpers behind the pages: highlight markup, safe links, times, the timeline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsflow.web import views
from tests.web import sample


def test_highlight_escapes_the_text_and_keeps_only_the_store_marks() -> None:
    fragment = "<script>x()</script> <em>QwQ-32B</em> & <b>more</b>"
    assert views.highlight(fragment) == (
        "&lt;script&gt;x()&lt;/script&gt; <mark>QwQ-32B</mark> &amp; &lt;b&gt;more&lt;/b&gt;"
    )


@pytest.mark.parametrize(
    ("fragment", "html"),
    [
        ("a </em>b", "a b"),  # a close without an open is dropped
        ("<em>a <em>b</em> c", "<mark>a b</mark> c"),  # never nested
        ("<em>cut off…", "<mark>cut off…</mark>"),  # an open mark is closed
        ('<em onclick="x">a</em>', "&lt;em onclick=&#34;x&#34;&gt;a"),  # not a store mark
    ],
)
def test_highlight_marks_are_balanced(fragment: str, html: str) -> None:
    assert views.highlight(fragment) == html


@given(st.lists(st.sampled_from(["<em>", "</em>", "<", ">", "&", "a", '"', "/", "em"])))
def test_highlight_never_emits_any_other_tag(pieces: list[str]) -> None:
    fragment = "".join(pieces)
    html = str(views.highlight(fragment))
    stripped = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped
    assert html.count("<mark>") == html.count("</mark>")


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://news.example.com/a?b=1", "https://news.example.com/a?b=1"),
        ("http://news.example.com/", "http://news.example.com/"),
        (sample.HOSTILE_URL, None),
        ("  JavaScript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//evil.example.com/", None),
        ("http://[::1", None),
    ],
)
def test_only_http_urls_become_links(url: str, target: str | None) -> None:
    assert views.link_target(url) == target


def test_parse_time_accepts_dates_and_times_in_utc_by_default() -> None:
    assert views.parse_time("2025-03-06") == datetime(2025, 3, 6, tzinfo=UTC)
    assert views.parse_time("2025-03-06T09:30:00Z") == datetime(2025, 3, 6, 9, 30, tzinfo=UTC)
    assert views.parse_time("  ") is None
    with pytest.raises(ValueError):
        views.parse_time("yesterday")


def test_day_range_and_query_string() -> None:
    assert views.day_range("2025-02-28") == ("2025-02-28", "2025-03-01")
    assert views.query_string(q="a&b", source="", page=2) == "?q=a%26b&page=2"
    assert views.query_string(source="") == ""


def test_timeline_is_in_time_order_with_each_copy_paired_with_its_original() -> None:
    members = [sample.QWQ_COPY, sample.QWQ_SECOND, sample.QWQ_FIRST]
    entries = views.timeline(members, originals=[])
    assert [e.article for e in entries] == [sample.QWQ_FIRST, sample.QWQ_SECOND, sample.QWQ_COPY]
    assert [e.original for e in entries] == [None, None, sample.QWQ_FIRST]
    assert views.missing_originals(members) == []
    assert views.missing_originals([sample.QWQ_COPY]) == [sample.QWQ_FIRST.id]
    [alone] = views.timeline([sample.QWQ_COPY], originals=[sample.QWQ_FIRST])
    assert alone.original == sample.QWQ_FIRST


def test_lead_of_takes_the_first_original_and_cuts_at_a_word() -> None:
    lead = views.lead_of([sample.QWQ_COPY, sample.QWQ_SECOND, sample.QWQ_FIRST], limit=30)
    assert lead == "Alibaba released QwQ-32B, a …"
    assert views.lead_of([]) == ""


def test_article_lead_drops_a_leading_copy_of_the_title() -> None:
    headline_first = sample.QWQ_FIRST.model_copy(
        update={"lead": f"{sample.QWQ_FIRST.title}  Alibaba released\n QwQ-32B."}
    )
    assert views.article_lead(headline_first) == "Alibaba released QwQ-32B."
    only_title = sample.QWQ_FIRST.model_copy(update={"lead": sample.QWQ_FIRST.title})
    assert views.article_lead(only_title) == sample.QWQ_FIRST.title
    no_lead = sample.RAIL.model_copy(update={"lead": ""})
    assert views.article_lead(no_lead) == sample.RAIL.text


def test_when_is_utc_for_people() -> None:
    assert views.when(sample.T0) == "6 Mar 2025, 09:00 UTC"
    assert views.when(None) == ""

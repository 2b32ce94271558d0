"""The HTML pages over each store: what they show, and that strangers' strings stay text."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from tests.web import sample

pytestmark = pytest.mark.integration


def page(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    return lxml.html.fromstring(response.text)


def texts(doc: Any, xpath: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in doc.xpath(xpath)]


def assert_inert(doc: Any) -> None:
    """Nothing a stranger wrote became an element, an attribute or a link."""
    assert [s.get("src") for s in doc.xpath("//script")] in ([], ["/static/refresh.js"])
    assert doc.xpath("//img | //b | //i | //*[@onerror]") == []
    hrefs = doc.xpath("//a/@href")
    assert not [h for h in hrefs if not h.startswith(("/", "?", "#", "https://news.example"))]


def test_river_lists_stories_with_outlets_counts_and_times(client: TestClient) -> None:
    doc = page(client, "/")
    assert texts(doc, "//li[@class='story']/h2") == [
        " ".join(sample.HOSTILE_TITLE.split()),
        sample.QWQ.headline,
        "Rail strike ends",
    ]
    assert doc.xpath("//li[@class='story']/h2/a/@href")[1] == f"/stories/{sample.QWQ_STORY}"
    qwq_meta = texts(doc, "//li[@class='story'][2]/p[@class='meta']")[0]
    assert "4 articles" in qwq_meta
    assert "Copy Wire · Example Daily · Example Wire" in qwq_meta
    assert "de en" in qwq_meta
    assert "6 Mar 2025, 09:00 UTC → 6 Mar 2025, 12:00 UTC" in qwq_meta
    assert_inert(doc)
    assert doc.xpath("//script/@src") == ["/static/refresh.js"]  # the live first page


def test_river_order_filters_and_paging(client: TestClient) -> None:
    biggest = page(client, "/", order="biggest")
    assert texts(biggest, "//li[@class='story']/h2")[0] == sample.QWQ.headline
    assert biggest.xpath("//script") == []  # only the latest first page refreshes itself
    german = page(client, "/", language="de")
    assert texts(german, "//li[@class='story']/h2") == [sample.QWQ.headline]
    outlet = page(client, "/", source="Example Daily", since="2025-03-06")
    assert texts(outlet, "//li[@class='story']/h2") == [sample.QWQ.headline]
    assert outlet.xpath("//input[@name='source']/@value") == ["Example Daily"]
    later = page(client, "/", page="2", source="Example Daily")
    assert texts(later, "//li[@class='story']") == []
    assert later.xpath("//a[@rel='prev']/@href") == ["/?order=latest&page=1&source=Example+Daily"]
    bad = page(client, "/", status=400, since="not a date")
    assert "bad date" in bad.text_content()
    unknown_order = page(client, "/", status=422, order="random")
    assert "bad parameter (order:" in unknown_order.text_content()
    too_far = page(client, "/", status=400, page="500")
    assert "paging stops at 10000 stories" in too_far.text_content()


def test_story_page_shows_the_timeline_copies_and_merged_stories(client: TestClient) -> None:
    doc = page(client, f"/stories/{sample.QWQ_STORY}")
    assert texts(doc, "//h1") == [sample.QWQ.headline]
    entries = doc.xpath("//ol[@class='timeline']/li")
    assert [e.get("id") for e in entries] == [
        f"a-{a.id}"
        for a in (sample.QWQ_FIRST, sample.QWQ_MERGED, sample.QWQ_SECOND, sample.QWQ_COPY)
    ]
    assert texts(doc, "//li[contains(@class,'entry')]//p[@class='outlet']") == [
        "Example Wire en",
        "Example Wire en",
        "Example Daily de",
        "Copy Wire en",
    ]
    assert texts(doc, "//li[contains(@class,'entry')]//time")[0] == "6 Mar 2025, 09:00 UTC"
    assert entries[0].xpath(".//h3/a/@href") == [sample.QWQ_FIRST.url]
    assert "Alibaba released QwQ-32B" in entries[0].text_content()  # the lead
    copy = entries[3]
    assert "copy" in copy.get("class")
    assert copy.xpath(".//p[@class='copy-of']/a/@href") == [f"#a-{sample.QWQ_FIRST.id}"]
    assert texts(doc, "//section[@class='merged']//li") == [
        f"{sample.QWQ_MERGED.title} · 1 article · first seen 6 Mar 2025, 10:00 UTC"
    ]
    assert_inert(doc)


def test_merged_away_and_unknown_stories(client: TestClient) -> None:
    moved = client.get(f"/stories/{sample.MERGED_STORY}", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"/stories/{sample.QWQ_STORY}"
    missing = page(client, "/stories/0123456789ab", status=404)
    assert "no such story" in missing.text_content()


def test_hostile_story_page_renders_every_string_as_text(client: TestClient) -> None:
    doc = page(client, f"/stories/{sample.HOSTILE_STORY}")
    assert doc.xpath("//h1")[0].text_content() == sample.HOSTILE_TITLE
    assert doc.xpath("//title")[0].text_content() == f"{sample.HOSTILE_TITLE} · newsflow"
    [entry] = doc.xpath("//ol[@class='timeline']/li")
    assert entry.xpath(".//h3")[0].text_content() == sample.HOSTILE_TITLE  # no link: javascript:
    assert sample.HOSTILE_OUTLET in entry.text_content()
    assert_inert(doc)


def test_search_page_groups_by_story_with_marks_and_facets(client: TestClient) -> None:
    doc = page(client, "/search", q="QwQ-32B")
    assert texts(doc, "//li[@class='result']/h2") == [sample.QWQ.headline]
    hits = doc.xpath("//li[@class='hit']")
    assert len(hits) == 4
    assert all(h.xpath(".//p[@class='fragment']/mark") for h in hits)
    assert texts(doc, "//aside[@class='facets']//li") == [
        "Example Wire 2",
        "Copy Wire 1",
        "Example Daily 1",
        "en 3",
        "de 1",
        "2025-03-06 4",
    ]
    day_link = doc.xpath("//aside//a[text()='2025-03-06']/@href")
    assert day_link == ["/search?q=QwQ-32B&since=2025-03-06&until=2025-03-07"]
    assert_inert(doc)

    narrowed = page(client, "/search", q="QwQ-32B", source="Copy Wire")
    assert len(narrowed.xpath("//li[@class='hit']")) == 1
    nothing = page(client, "/search", q="zzzz")
    assert "Nothing matches “zzzz”" in nothing.text_content()


def test_search_fragments_of_hostile_text_keep_only_the_marks(client: TestClient) -> None:
    doc = page(client, "/search", q="rail strike")
    hostile = [r for r in doc.xpath("//li[@class='result']") if "pwned" in r.text_content()]
    [result] = hostile
    for fragment in result.xpath(".//p[@class='fragment']"):
        assert {child.tag for child in fragment} <= {"mark"}
        assert "<script>" in fragment.text_content()
    assert_inert(doc)

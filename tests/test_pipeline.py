"""The whole embedded pipeline: replay, stages, dead letters, idempotence."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from connectors.seeds import load_seeds
from newsflow.config import Settings, load_settings
from newsflow.extract import article_from_text
from newsflow.outcomes import PollResult
from newsflow.pipeline import Pipeline
from newsflow.replay import ReplayMode, replay
from newsflow.store import SearchQuery
from schemas import Article


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def run_replay(settings: Settings, seeds_dir: Path, mode: ReplayMode) -> PollResult:
    return asyncio.run(replay(settings, seeds_dir, mode))


def test_direct_replay_puts_both_seeds_in_one_story(settings: Settings, seeds_dir: Path) -> None:
    result = run_replay(settings, seeds_dir, ReplayMode.DIRECT)
    assert len(result.published) == 2 and not result.run_report().skips
    assert len(result.articles) == 2
    story_ids = {a.story_id for a in result.articles}
    assert len(story_ids) == 1 and None not in story_ids
    with Pipeline(settings) as pipeline:
        [story] = pipeline.store.stories()
        assert story.article_count == 2
        assert story.sources == ["Example Daily", "Example Wire"]
        hits = pipeline.store.search(SearchQuery("QwQ-32B"))
        assert {h.article.id for r in hits for h in r.hits} == {a.id for a in result.articles}


def test_replaying_twice_stores_nothing_twice(settings: Settings, seeds_dir: Path) -> None:
    first = run_replay(settings, seeds_dir, ReplayMode.DIRECT)
    second = run_replay(settings, seeds_dir, ReplayMode.DIRECT)
    assert {a.id for a in first.articles} == {a.id for a in second.articles}
    assert {a.story_id for a in first.articles} == {a.story_id for a in second.articles}
    with Pipeline(settings) as pipeline:
        assert pipeline.store.count_articles() == 2
        [story] = pipeline.store.stories()
        assert story.article_count == 2


@pytest.mark.integration
def test_served_replay_fetches_and_extracts_over_loopback(
    settings: Settings, seeds_dir: Path
) -> None:
    served = run_replay(settings, seeds_dir, ReplayMode.SERVED)
    assert len(served.published) == 2, served.run_report().skips
    assert len({a.story_id for a in served.articles}) == 1
    manifest_urls = {seed.url for seed in load_seeds(seeds_dir)}
    assert {a.url for a in served.articles} == manifest_urls, "published under the manifest URLs"
    for article in served.articles:
        assert "QwQ-32B" in article.text
        assert article.published_at is not None and article.published_at.year == 2025
    assert {a.source for a in served.articles} == {"Example Wire", "Example Daily"}
    # A second served replay (another port) and a direct one change nothing in the store.
    again = run_replay(settings, seeds_dir, ReplayMode.SERVED)
    direct = run_replay(settings, seeds_dir, ReplayMode.DIRECT)
    assert (
        {a.id for a in again.articles}
        == {a.id for a in direct.articles}
        == {a.id for a in served.articles}
    )
    with Pipeline(settings) as pipeline:
        assert pipeline.store.count_articles() == 2


def test_poison_messages_are_dead_lettered_and_the_rest_goes_through(
    settings: Settings, seeds_dir: Path
) -> None:
    with Pipeline(settings) as pipeline:
        pipeline.bus.publish(pipeline.topics.extracted, "bad", b'{"not": "an article"}')
        for seed in load_seeds(seeds_dir):
            article = article_from_text(seed.item(), seed.published_at)
            assert isinstance(article, Article)
            pipeline.publish(article)
        pipeline.bus.publish(pipeline.topics.extracted, "worse", b"\xff\xfe not even json")
        report = pipeline.process()
        assert report["cluster"] == 4
        assert report["dead-letter-log"] == 2
        assert pipeline.store.count_articles() == 2
    lines = (settings.data_dir / "dead-letter.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["key"] for r in records] == ["bad", "worse"]
    for record in records:
        assert record["headers"]["dlq.stage"] == "cluster"
        assert "not a valid Article" in record["headers"]["dlq.reason"]
        assert record["headers"]["dlq.source.topic"] == settings.kafka.topic_extracted

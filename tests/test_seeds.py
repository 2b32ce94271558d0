from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from connectors.feeds.parse import parse_feed
from connectors.seeds import FEED_PATH, SeedError, load_seeds, seed_site
from connectors.static_site import serve


def test_seed_texts_are_the_shared_fixture_unchanged(seeds_dir: Path, shared_dir: Path) -> None:
    shared_seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    assert shared_seeds, "the shared fixture has seed texts"
    for shared in shared_seeds:
        assert (seeds_dir / shared.name).read_bytes() == shared.read_bytes()


def test_manifest_covers_every_seed_on_reserved_domains(seeds_dir: Path) -> None:
    seeds = load_seeds(seeds_dir)
    assert len(seeds) == len(list(seeds_dir.glob("*.txt"))) == 2
    for seed in seeds:
        host = httpx.URL(seed.url).host
        assert host.endswith((".example.com", ".example.org", ".example.net", ".test"))
        assert seed.published_at.date().isoformat() == "2025-03-06"
    assert len({s.outlet for s in seeds}) == 2


def test_bad_seed_folders_raise_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="does not exist"):
        load_seeds(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"articles": [{"file": "x.txt"}]}))
    with pytest.raises(SeedError, match="not a valid seeds manifest"):
        load_seeds(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "articles": [
                    {
                        "file": "x.txt",
                        "outlet": "o",
                        "url": "https://a.example/x",
                        "published_at": "2025-03-06T00:00:00+00:00",
                    }
                ]
            }
        )
    )
    with pytest.raises(SeedError, match="cannot read seed"):
        load_seeds(tmp_path)


@pytest.mark.integration
def test_served_site_lists_every_seed_in_its_feed(seeds_dir: Path) -> None:
    seeds = load_seeds(seeds_dir)
    with serve(seed_site(seeds)) as base_url:
        feed = httpx.get(base_url + FEED_PATH)
        items = parse_feed(feed.content, base_url + FEED_PATH)
        pages = [httpx.get(item.url) for item in items]
        missing = httpx.get(base_url + "/nope")
    assert feed.headers["content-type"].startswith("application/rss+xml")
    assert [i.source for i in items] == [s.outlet for s in seeds]
    assert [i.published_at for i in items] == [s.published_at for s in seeds]
    assert all(p.status_code == 200 and "text/html" in p.headers["content-type"] for p in pages)
    assert "QwQ-32B" in pages[0].text and "QwQ-32B" in pages[1].text
    assert missing.status_code == 404

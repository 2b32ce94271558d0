"""The story linker: stories in different languages about one event become one story.

It follows the clusterer's output, one clustered article at a time, and works per story: a
story is embedded (headline and lead) when it opens and again when it has grown enough to
read differently (`decide.due_for_embedding`), and only then compared with the open stories.
Links are recorded in the same `Merges` as the clusterer's merges (noted with `note_merge`):
the newer story goes into the older, which keeps its id, exactly as when the clusterer merges
two stories.

What it holds is bounded by the stream's recent past: a story is forgotten two windows after
its last article (one window for linking, one for late articles), and so is a merge once no
story held leads through it and it was noted before that horizon.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from newsflow.clustering import Merges
from newsflow.config import ClusterSettings
from newsflow.linking.decide import MAX_HEADLINES, due_for_embedding, pick_partner, story_text
from newsflow.linking.embedder import Embedder

# Stories are forgotten once the latest time seen is this many windows past their last article:
# one window for linking, one more for articles that arrive late.
_KEPT_WINDOWS = 2.0
# Merges are pruned when they have grown to twice what the last pruning kept, and this many more.
_PRUNE_SLACK = 64
# The fields of a held story that a state file keeps as they are.
_SCALARS = ("id", "lead", "first_seen", "last_seen", "embedded_at")


@dataclass(frozen=True)
class Sighting:
    """One clustered article as the linker sees it: its story, words, language and time."""

    story_id: str
    article_id: str
    title: str
    lead: str
    language: str
    published_at: datetime


@dataclass(frozen=True)
class Link:
    """Story `absorbed` went into story `into` (each the end of its chain of merges)."""

    absorbed: str
    into: str
    similarity: float


@dataclass
class _Story:
    """What the linker keeps of one of the clusterer's stories."""

    id: str
    lead: str
    first_seen: float
    last_seen: float
    headlines: list[str] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    embedded_at: int = 0
    vector: NDArray[np.float32] | None = None

    def gap_hours(self, other: _Story) -> float:
        """Hours between the two stories' spans (0 when they overlap)."""
        gap = max(self.first_seen - other.last_seen, other.first_seen - self.last_seen, 0.0)
        return gap / 3600.0


class StoryLinker:
    """Links open stories of different languages; see the module docstring."""

    def __init__(self, settings: ClusterSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.embeddings = 0
        self._merges = Merges()
        # When each merge in `_merges` was noted (the clock then), by the story absorbed.
        self._noted: dict[str, float] = {}
        self._kept_merges = 0
        self._stories: dict[str, _Story] = {}
        self._expiry: list[tuple[float, str]] = []
        self._clock = float("-inf")

    @property
    def merges(self) -> Merges:
        """The merges and links of the stories held and of the recent past (to read: it is
        replaced when old ones are dropped)."""
        return self._merges

    def note_merge(self, absorbed: str, into: str) -> tuple[str, str] | None:
        """Note that the clusterer merged story `absorbed` into `into` (the linker needs to
        know which stories are one already); returns what `Merges.merge` returns."""
        merged = self._merges.merge(absorbed, into)
        if merged is not None:
            self._noted[merged[0]] = self._clock
        return merged

    def observe(self, sighting: Sighting) -> Link | None:
        """Take in one clustered article; returns the link it led to, if any. An article seen
        before changes nothing."""
        when = sighting.published_at.timestamp()
        story = self._stories.get(sighting.story_id)
        if story is None:
            story = self._stories[sighting.story_id] = _Story(
                sighting.story_id, sighting.lead, when, when
            )
        elif sighting.article_id in story.articles:
            return None
        story.articles.add(sighting.article_id)
        story.first_seen = min(story.first_seen, when)
        story.last_seen = max(story.last_seen, when)
        story.languages.add(sighting.language)
        heapq.heappush(self._expiry, (story.last_seen, story.id))
        title = sighting.title.strip()
        if title and title not in story.headlines and len(story.headlines) < MAX_HEADLINES:
            story.headlines.append(title)
        self._advance(when)
        if not due_for_embedding(len(story.articles), story.embedded_at):
            return None
        story.vector = self.embedder.embed(story_text(story.headlines, story.lead))
        story.embedded_at = len(story.articles)
        self.embeddings += 1
        return self._link(story)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue: the stories held (with their vectors), the merges
        and links noted, the clock; `restore` takes it back."""
        return {
            "clock": self._clock,
            "merges": self._merges.edges(),
            "noted": self._noted,
            "stories": [
                {
                    **{name: getattr(story, name) for name in _SCALARS},
                    "headlines": story.headlines,
                    "languages": sorted(story.languages),
                    "articles": sorted(story.articles),
                    "vector": None if story.vector is None else story.vector.tolist(),
                }
                for story in self._stories.values()
            ],
        }

    @classmethod
    def restore(
        cls, settings: ClusterSettings, embedder: Embedder, state: dict[str, Any]
    ) -> StoryLinker:
        """A linker in the state `state` gave; raises KeyError, TypeError or ValueError for a
        damaged one."""
        linker = cls(settings, embedder)
        linker._merges = Merges(state["merges"])
        linker._noted = {str(key): float(when) for key, when in state["noted"].items()}
        linker._kept_merges = len(linker._noted)
        linker._clock = float(state["clock"])
        for record in state["stories"]:
            vector = record["vector"]
            story = _Story(
                **{name: record[name] for name in _SCALARS},
                headlines=list(record["headlines"]),
                languages=set(record["languages"]),
                articles=set(record["articles"]),
                vector=None if vector is None else np.asarray(vector, dtype=np.float32),
            )
            linker._stories[story.id] = story
            linker._expiry.append((story.last_seen, story.id))
        heapq.heapify(linker._expiry)
        return linker

    def __len__(self) -> int:
        """How many stories the linker holds."""
        return len(self._stories)

    def __contains__(self, story_id: object) -> bool:
        """Whether the linker holds the story (it has seen its articles, and not forgotten)."""
        return story_id in self._stories

    @property
    def horizon(self) -> float:
        """The time (POSIX seconds) before which stories are forgotten."""
        return self._clock - _KEPT_WINDOWS * self.settings.window_hours * 3600.0

    def _link(self, story: _Story) -> Link | None:
        """Link `story` with the open story of another language it is clearly closest to."""
        if story.vector is None:
            return None
        final = self.merges.final
        root = final(story.id)
        roots = {number: final(number) for number in self._stories}
        languages: dict[str, set[str]] = {}
        for number, other in self._stories.items():
            languages.setdefault(roots[number], set()).update(other.languages)
        own_languages = languages[root]
        window = self.settings.window_hours
        # Open to it: other groups' stories within the window; only they count for the margin.
        candidates = [
            (roots[other.id], other.vector)
            for other in self._stories.values()
            if other.vector is not None
            and roots[other.id] != root
            and story.gap_hours(other) <= window
        ]
        if not candidates:
            return None
        similarities = np.stack([vector for _, vector in candidates]) @ story.vector
        groups = [group for group, _ in candidates]
        eligible = [languages[group].isdisjoint(own_languages) for group in groups]
        settings = self.settings
        chosen = pick_partner(
            similarities, groups, eligible, settings.link_threshold, settings.link_margin
        )
        if chosen is None:
            return None
        partner = groups[chosen]
        older, newer = sorted((root, partner), key=self._age)
        merged = self.note_merge(newer, older)
        if merged is None:
            return None
        return Link(merged[0], merged[1], float(similarities[chosen]))

    def _age(self, root: str) -> tuple[float, str]:
        """Sort key: the group of `root` by its earliest article, then by id."""
        final = self.merges.final
        first = min(
            (story.first_seen for story in self._stories.values() if final(story.id) == root),
            default=float("inf"),
        )
        return first, root

    def _advance(self, when: float) -> None:
        """Move the clock to `when` if later; forget the stories left far behind it."""
        self._clock = max(self._clock, when)
        cutoff = self.horizon
        expiry, stories = self._expiry, self._stories
        while expiry and expiry[0][0] < cutoff:
            last_seen, number = heapq.heappop(expiry)
            story = stories.get(number)
            if story is not None and story.last_seen == last_seen:
                del stories[number]
        if len(self._noted) >= 2 * self._kept_merges + _PRUNE_SLACK:
            self._prune_merges()

    def _prune_merges(self) -> None:
        """Drop the merges no story held leads through that were noted before the horizon
        (a merge noted later, or one after it in a chain, was noted at that time or later)."""
        edges, cutoff = self._merges.edges(), self.horizon
        live: set[str] = set()
        for number in self._stories:
            while number in edges and number not in live:
                live.add(number)
                number = edges[number]
        kept = {a: b for a, b in edges.items() if a in live or self._noted.get(a, cutoff) >= cutoff}
        self._merges = Merges(kept)
        self._noted = {a: when for a, when in self._noted.items() if a in kept}
        self._kept_merges = len(kept)

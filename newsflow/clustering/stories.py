"""Stories in the window: their running records, centroids and the term index over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from newsflow.clustering.columns import Ints
from newsflow.clustering.model import StoryState
from newsflow.clustering.vectors import Vector


@dataclass(slots=True)
class Story:
    """The mutable record of one open story; times are POSIX seconds.

    `first_seen` and `last_seen` span its articles' own times; `last_arrival` is the clock
    (latest time seen in the stream) when its latest article arrived, which ages it out."""

    number: int
    id: str
    headline: str
    first_seen: float
    last_seen: float
    last_arrival: float
    article_count: int = 0
    sources: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    merged_from: list[str] = field(default_factory=list)
    centroid: Vector = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    vectors: int = 0
    members: list[int] = field(default_factory=list)

    def state(self) -> StoryState:
        """The immutable view handed out in assignments."""
        return StoryState(
            id=self.id,
            headline=self.headline,
            first_seen=datetime.fromtimestamp(self.first_seen, UTC),
            last_seen=datetime.fromtimestamp(self.last_seen, UTC),
            article_count=self.article_count,
            sources=tuple(sorted(self.sources)),
            languages=tuple(sorted(self.languages)),
            merged_from=tuple(self.merged_from),
        )

    def gap_hours(self, when: float) -> float:
        """Hours between `when` and the nearest moment the story covers (0 inside it)."""
        if when < self.first_seen:
            return (self.first_seen - when) / 3600.0
        return max(0.0, when - self.last_seen) / 3600.0

    def touch(self, when: float, clock: float, source: str | None, language: str | None) -> None:
        """Count one more article, of time `when`, arriving with the stream's clock at `clock`."""
        self.article_count += 1
        self.first_seen = min(self.first_seen, when)
        self.last_seen = max(self.last_seen, when)
        self.last_arrival = clock
        if source:
            self.sources.add(source)
        if language:
            self.languages.add(language)


class StoryIndex:
    """Inverted index from centroid terms to open stories, whose centroids are the sums of their
    articles' unit vectors."""

    def __init__(self) -> None:
        self.postings: dict[str, dict[int, None]] = {}

    def add_vector(self, story: Story, vector: Vector, count: int = 1) -> None:
        """Add the sum of `count` member vectors to the story's centroid; index its new terms."""
        centroid = story.centroid
        postings = self.postings
        for term, weight in vector.items():
            old = centroid.get(term)
            if old is None:
                centroid[term] = weight
                postings.setdefault(term, {})[story.number] = None
            else:
                centroid[term] = old + weight
        story.vectors += count

    def restore(self, terms: list[str], starts: Ints, counts: Ints, numbers: list[int]) -> None:
        """Index restored stories in bulk: term `terms[i]` is in the centroids of stories
        `numbers[starts[i] : starts[i] + counts[i]]` (see `columns.sorted_groups`)."""
        postings = self.postings
        for term, start, count in zip(terms, starts.tolist(), counts.tolist(), strict=True):
            postings[term] = dict.fromkeys(numbers[start : start + count])

    def drop(self, story: Story) -> None:
        """Remove every posting of the story (it expired or was merged away)."""
        for term in story.centroid:
            posting = self.postings[term]
            del posting[story.number]
            if not posting:
                del self.postings[term]

    def candidates(
        self, vector: Vector, query_terms: int, max_posting: int, limit: int
    ) -> list[int]:
        """Up to `limit` story numbers sharing one of the first `query_terms` terms of `vector`
        (heaviest first; terms indexed under more than `max_posting` stories are too common to
        ask), ranked by the summed weight of the terms they share; ties go to older stories."""
        shared: dict[int, float] = {}
        for term, weight in islice(vector.items(), query_terms):
            posting = self.postings.get(term)
            if posting is None or len(posting) > max_posting:
                continue
            get = shared.get
            for number in posting:
                shared[number] = get(number, 0.0) + weight
        if len(shared) > limit:
            cut = sorted(shared.values(), reverse=True)[limit - 1]  # faster than nlargest here
            shared = {number: weight for number, weight in shared.items() if weight >= cut}
        best = sorted([(-weight, number) for number, weight in shared.items()])[:limit]
        return [number for _, number in best]

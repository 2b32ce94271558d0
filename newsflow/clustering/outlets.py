"""What the stream shows about its outlets: do they write one story up more than once?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class OutletEvidence:
    """Confident matches of articles that name their outlet (the closest story, whether the
    article then joins it or not), and how many of them found that outlet in the story already.

    In roundups and wire mixes each outlet writes an event up once, so an article whose outlet
    is already in a story is most likely about another event. In streams with follow-ups
    (updates, live pages, analyses) outlets write one event up many times, and holding that
    against them splits their stories. The share of repeats among matches nobody doubts tells
    the two kinds of stream apart."""

    matches: int = 0
    repeats: int = 0

    def observe(self, repeated: bool) -> None:
        """Count one confident match; `repeated`: its outlet was in the story already."""
        self.matches += 1
        self.repeats += repeated

    def outlets_rarely_repeat(self, least_matches: int, most_repeat_share: float) -> bool:
        """Whether at least `least_matches` confident matches were seen and at most
        `most_repeat_share` of them repeated an outlet."""
        return self.matches >= least_matches and self.repeats <= most_repeat_share * self.matches

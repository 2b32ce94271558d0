"""The records the story clusterer takes in and gives back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Document:
    """One article as the clusterer sees it; `published_at` must be timezone-aware."""

    id: str
    title: str
    text: str
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class StoryState:
    """A story as it stands after the latest article added to it."""

    id: str
    headline: str
    first_seen: datetime
    last_seen: datetime
    article_count: int
    sources: tuple[str, ...]
    languages: tuple[str, ...]
    merged_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """Where one document went: its story, the earlier document it copies, merges it caused."""

    doc_id: str
    story_id: str
    duplicate_of: str | None
    story: StoryState
    merged: tuple[StoryState, ...] = ()


class Merges:
    """The stories merged away during a run, so that each article can be reported under the
    story it is in at the end rather than the one it joined."""

    def __init__(self, into: Mapping[str, str] | None = None) -> None:
        """`into`: merges noted before, as `edges` lists them."""
        self._into: dict[str, str] = dict(into or {})

    def edges(self) -> dict[str, str]:
        """Every merge noted: each absorbed story and the story it went into."""
        return dict(self._into)

    def record(self, assignment: Assignment) -> None:
        """Note the stories `assignment` merged into its story."""
        for absorbed in assignment.merged:
            self.merge(absorbed.id, assignment.story_id)

    def merge(self, absorbed: str, into: str) -> tuple[str, str] | None:
        """Note that story `absorbed` went into story `into` (the clusterer's merges, and the
        cross-language linker's); returns the two stories that became one, each as it stood
        at the end of its chain, or None when they were one already."""
        absorbed, into = self.final(absorbed), self.final(into)
        if absorbed == into:
            return None
        self._into[absorbed] = into
        return absorbed, into

    def final(self, story_id: str) -> str:
        """The story `story_id` ended up in. Only the end of a chain is ever merged, into
        the end of another, so chains end."""
        while story_id in self._into:
            story_id = self._into[story_id]
        return story_id

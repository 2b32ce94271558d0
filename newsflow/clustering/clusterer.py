"""The streaming story clusterer: near-duplicates first, then same-event stories."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from newsflow.clustering.minhash import MinHasher, NearDuplicateIndex, Signature
from newsflow.clustering.model import Assignment, Document
from newsflow.clustering.stories import Story, StoryIndex
from newsflow.clustering.tokens import extract_terms, word_tokens
from newsflow.clustering.vectors import DocumentFrequencies, Vector, dot, weigh
from newsflow.config import ClusterSettings
from newsflow.text import content_hash, normalize_for_hash
from newsflow.urls import stable_id


@dataclass
class Member:
    """What the window keeps of one article."""

    number: int
    id: str
    story: int
    time: float
    duplicate_of: str | None
    content_hash: str | None
    terms: tuple[str, ...]
    vector: Vector
    signature: Signature | None


class StoryClusterer:
    """Assigns each incoming document to a story, online and deterministically.

    A document that copies an earlier one (same normalised text, or estimated shingle Jaccard
    at least `duplicate_threshold`) joins that document's story and names it in
    `duplicate_of`. Any other document joins the most similar open story when the similarity
    reaches `join_threshold`, else opens a new story; other stories it matches at
    `merge_threshold` are merged into the oldest of them. Documents without `published_at`
    take the latest time seen so far (the POSIX epoch before any), so a batch file without
    timestamps is one moment. Stories whose last article is older than `window_hours` before
    the latest time seen leave the window with their articles.
    """

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._hasher = MinHasher(settings.lsh_bands, settings.lsh_rows, settings.shingle_size)
        self._near = NearDuplicateIndex(self._hasher)
        self._index = StoryIndex()
        self._frequencies = DocumentFrequencies(settings.idf_prior_documents)
        self._stories: dict[int, Story] = {}
        self._members: dict[int, Member] = {}
        self._by_id: dict[str, int] = {}
        self._by_hash: dict[str, int] = {}
        self._expiry: list[tuple[float, int]] = []
        self._clock: float | None = None
        self._next_number = 0

    # --- public API ---------------------------------------------------------------------

    def add(self, doc: Document) -> Assignment:
        """Assign `doc` to a story; a document id seen before gets its earlier assignment."""
        known = self._by_id.get(doc.id)
        if known is not None:
            member = self._members[known]
            story = self._stories[member.story]
            return Assignment(doc.id, story.id, member.duplicate_of, story.state())
        when = self._time_of(doc)
        self._expire()
        number = self._take_number()
        text_hash = content_hash(doc.text) if normalize_for_hash(doc.text) else None
        signature = self._hasher.signature(word_tokens(doc.text, self.settings.shingle_tokens))
        original = self._original_of(text_hash, signature)
        merged: tuple[Story, ...] = ()
        if original is not None:
            story = self._stories[original.story]
            member = Member(
                number,
                doc.id,
                story.number,
                when,
                original.duplicate_of or original.id,
                text_hash,
                (),
                {},
                signature,
            )
        else:
            settings = self.settings
            terms = extract_terms(
                doc.title, doc.text, doc.language, settings.lead_tokens, settings.title_weight
            )
            vector = weigh(terms, self._frequencies, settings.name_boost, settings.vector_terms)
            self._frequencies.add(terms.counts)
            story, merged = self._place(number, doc, vector, when)
            member = Member(
                number,
                doc.id,
                story.number,
                when,
                None,
                text_hash,
                tuple(terms.counts),
                vector,
                signature,
            )
            self._index.add_vector(story, vector)
        self._remember(member, story)
        story.touch(when, doc.source, doc.language)
        heapq.heappush(self._expiry, (story.last_seen, story.number))
        return Assignment(
            doc.id,
            story.id,
            member.duplicate_of,
            story.state(),
            tuple(absorbed.state() for absorbed in merged),
        )

    def save(self, path: Path) -> None:
        """Write the window to `path` atomically (temporary file, then rename)."""
        from newsflow.clustering.snapshot import save_snapshot

        save_snapshot(self, path)

    @classmethod
    def load(cls, path: Path, settings: ClusterSettings) -> StoryClusterer:
        """A clusterer in the state `save` wrote to `path`."""
        from newsflow.clustering.snapshot import load_snapshot

        return load_snapshot(cls(settings), path)

    # --- steps of `add` -----------------------------------------------------------------

    def _time_of(self, doc: Document) -> float:
        if doc.published_at is None:
            when = self._clock if self._clock is not None else 0.0
        else:
            published = doc.published_at
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            when = published.timestamp()
        self._clock = when if self._clock is None else max(self._clock, when)
        return when

    def _take_number(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def _original_of(self, text_hash: str | None, signature: Signature | None) -> Member | None:
        if text_hash is not None and text_hash in self._by_hash:
            return self._members[self._by_hash[text_hash]]
        if signature is None:
            return None
        match = self._near.best_match(signature, self.settings.duplicate_threshold)
        return None if match is None else self._members[match]

    def _place(
        self, number: int, doc: Document, vector: Vector, when: float
    ) -> tuple[Story, tuple[Story, ...]]:
        """The story `doc` joins (new if none is close enough) and the stories merged into it."""
        settings = self.settings
        scored: list[tuple[float, int]] = []
        for candidate in self._index.candidates(
            vector,
            self._stories,
            settings.query_terms,
            settings.max_posting,
            settings.max_candidates,
        ):
            score = self._similarity(vector, when, doc.source, self._stories[candidate])
            if score >= settings.join_threshold:
                scored.append((score, candidate))
        if not scored:
            return self._open_story(number, doc, when), ()
        scored.sort(key=lambda item: (-item[0], item[1]))
        best = scored[0][1]
        mergeable = sorted(
            [best] + [n for score, n in scored[1:] if score >= settings.merge_threshold]
        )
        survivor = self._stories[mergeable[0]]
        absorbed = tuple(self._merge(survivor, self._stories[n]) for n in mergeable[1:])
        return survivor, absorbed

    def _similarity(self, vector: Vector, when: float, source: str | None, story: Story) -> float:
        settings = self.settings
        centroid = dot(vector, story.centroid) / story.norm if story.norm else 0.0
        best_member = 0.0
        if settings.member_weight > 0:
            best_member = max(
                (dot(vector, self._members[n].vector) for n in story.members), default=0.0
            )
        score = (1.0 - settings.member_weight) * centroid + settings.member_weight * best_member
        if source is not None and source in story.sources:
            score *= settings.same_source_factor
        late = story.gap_hours(when) - settings.decay_grace_hours
        if late > 0:
            score *= 0.5 ** (late / settings.decay_half_life_hours)
        return score

    def _open_story(self, number: int, doc: Document, when: float) -> Story:
        story = Story(
            number=number,
            id=stable_id("story", doc.id),
            headline=doc.title.strip(),
            first_seen=when,
            last_seen=when,
        )
        self._stories[number] = story
        return story

    def _merge(self, survivor: Story, absorbed: Story) -> Story:
        """Move `absorbed` into `survivor`; returns `absorbed` as it was last."""
        self._index.drop(absorbed)
        self._index.add_vector(survivor, absorbed.centroid)
        for member_number in absorbed.members:
            self._members[member_number].story = survivor.number
        survivor.members.extend(absorbed.members)
        survivor.article_count += absorbed.article_count
        survivor.first_seen = min(survivor.first_seen, absorbed.first_seen)
        survivor.last_seen = max(survivor.last_seen, absorbed.last_seen)
        survivor.sources |= absorbed.sources
        survivor.languages |= absorbed.languages
        survivor.merged_from.extend([absorbed.id, *absorbed.merged_from])
        if not survivor.headline:
            survivor.headline = absorbed.headline
        del self._stories[absorbed.number]
        return absorbed

    def _remember(self, member: Member, story: Story) -> None:
        self._members[member.number] = member
        self._by_id[member.id] = member.number
        if member.content_hash is not None:
            self._by_hash.setdefault(member.content_hash, member.number)
        if member.signature is not None:
            self._near.add(member.number, member.signature)
        story.members.append(member.number)

    # --- the window ---------------------------------------------------------------------

    def _expire(self) -> None:
        if self._clock is None:
            return
        cutoff = self._clock - self.settings.window_hours * 3600.0
        while self._expiry and self._expiry[0][0] < cutoff:
            last_seen, number = heapq.heappop(self._expiry)
            story = self._stories.get(number)
            if story is not None and story.last_seen == last_seen:
                self._drop_story(story)

    def _drop_story(self, story: Story) -> None:
        self._index.drop(story)
        for member_number in story.members:
            member = self._members.pop(member_number)
            del self._by_id[member.id]
            if member.content_hash is not None and self._by_hash.get(member.content_hash) == (
                member_number
            ):
                del self._by_hash[member.content_hash]
            self._near.remove(member_number)
            if member.terms:
                self._frequencies.remove(member.terms)
        del self._stories[story.number]

"""The streaming story clusterer: near-duplicates first, then same-event stories."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from newsflow.clustering.analysis import Analysed, Analyser
from newsflow.clustering.columns import (
    Vocabulary,
    flat,
    gc_paused,
    lengths,
    rows,
    sorted_groups,
)
from newsflow.clustering.minhash import NearDuplicateIndex, Shingled
from newsflow.clustering.model import Assignment, Document
from newsflow.clustering.outlets import OutletEvidence
from newsflow.clustering.snapshot import (
    Array,
    SnapshotError,
    decode_state,
    encode_state,
    read_state,
    write_state,
)
from newsflow.clustering.stories import Story, StoryIndex
from newsflow.clustering.vectors import DocumentFrequencies, Query, Vector, key_names, weigh
from newsflow.config import ClusterSettings
from newsflow.urls import stable_id

# Stories ranked by shared term weight before those out of the article's time are left out.
_CANDIDATE_POOL = 4


@dataclass(slots=True)
class Member:
    """What the window keeps of one article."""

    number: int
    id: str
    story: int
    time: float
    duplicate_of: str | None
    content_hash: str | None
    terms: tuple[str, ...]
    shingled: Shingled | None


class StoryClusterer:
    """Assigns each incoming document to a story, online and deterministically.

    A document that copies an earlier one (same text, or estimated shingle containment at
    least `duplicate_threshold`) joins that document's story and names it in `duplicate_of`.
    Any other document joins the most similar open story when the similarity reaches
    `join_threshold`, else opens a new story; other stories it matches at `merge_threshold`
    are merged into the oldest of them. Documents without `published_at` take the latest
    time seen so far (the POSIX epoch before any), so a batch file without timestamps is one
    moment.

    Outlets: a story that already has the document's `source` counts at `same_source_factor`,
    but only while the stream shows that outlets rarely write one story up twice (at least
    `same_source_evidence` matches at `confident_match`, at most `same_source_repeat_share` of
    them to a story holding their outlet); streams with follow-ups keep the factor off.

    Time: a story is open to a document within `window_hours` of the story's span, by the
    documents' own times, and its similarity decays beyond `decay_grace_hours`. The clock is
    the latest time seen; a story is forgotten with its articles once the clock, as it stood
    `window_lag_articles` arrivals earlier, has moved `window_hours` past where it stood when
    the story's latest article arrived. So late documents, and files grouped by story or
    shuffled, still meet the stories of their neighbours in the stream.
    """

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._analyser = Analyser(settings)
        self._near = NearDuplicateIndex(self._analyser.hasher)
        self._index = StoryIndex()
        self._frequencies = DocumentFrequencies(settings.idf_prior_documents)
        self._outlets = OutletEvidence()
        self._stories: dict[int, Story] = {}
        self._members: dict[int, Member] = {}
        self._by_id: dict[str, int] = {}
        self._by_hash: dict[str, int] = {}
        self._expiry: list[tuple[float, int]] = []
        # The clock after each of the latest arrivals: the latest time seen, as it stood then.
        self._recent_clocks: deque[float] = deque(maxlen=settings.window_lag_articles)
        self._next_number = 0

    # --- public API ---------------------------------------------------------------------

    def add(self, doc: Document) -> Assignment:
        """Assign `doc` to a story; a document id seen before gets its earlier assignment."""
        return self.add_analysed(self._analyser.analyse(doc))

    def add_analysed(self, doc: Analysed) -> Assignment:
        """`add` for a document analysed already, by an `Analyser` with this clusterer's
        settings (see `newsflow.clustering.analysis`)."""
        known = self._by_id.get(doc.id)
        if known is not None:
            member = self._members[known]
            story = self._stories[member.story]
            return Assignment(doc.id, story.id, member.duplicate_of, story.state())
        when, clock = self._time_of(doc.time)
        self._expire(self._recent_clocks[0])
        number = self._take_number()
        text_hash, shingled = doc.content_hash, doc.shingled
        original = self._original_of(text_hash, shingled, when)
        merged: tuple[Story, ...] = ()
        if original is not None:
            story = self._stories[original.story]
            copied = original.duplicate_of or original.id
            member = Member(number, doc.id, story.number, when, copied, text_hash, (), shingled)
        else:
            settings = self.settings
            terms = doc.terms
            vector = weigh(terms, self._frequencies, settings.name_boost, settings.vector_terms)
            if terms.counts:
                self._frequencies.add(terms.counts)
            names = key_names(vector, terms.names, settings.key_names)
            story, merged = self._place(number, doc, vector, names, when, clock)
            words = tuple(terms.counts)
            member = Member(number, doc.id, story.number, when, None, text_hash, words, shingled)
            self._index.add_vector(story, vector)
            story.names |= names
        story.members.append(member.number)
        self._remember(member)
        story.touch(when, clock, doc.source, doc.language)
        heapq.heappush(self._expiry, (clock, story.number))
        return Assignment(
            doc.id,
            story.id,
            member.duplicate_of,
            story.state(),
            tuple(absorbed.state() for absorbed in merged),
        )

    @property
    def arrivals(self) -> int:
        """How many articles the window ever took in (a redelivered one does not count)."""
        return self._next_number

    def __len__(self) -> int:
        """How many articles the window holds."""
        return len(self._members)

    def save(self, path: Path) -> None:
        """Write the window to `path` atomically (temporary file, then rename)."""
        write_state(path, self.to_bytes())

    @classmethod
    def load(cls, path: Path, settings: ClusterSettings) -> StoryClusterer:
        """A clusterer in the state `save` wrote to `path`, with `settings` in force.

        The shingling settings must be those of the saved state (signatures depend on them);
        thresholds may differ. Raises `SnapshotError` when the file cannot be restored."""
        return cls.from_bytes(read_state(path), settings, str(path))

    def to_bytes(self) -> bytes:
        """The window, encoded (see `newsflow.clustering.snapshot`)."""
        return encode_state(self._next_number, *self._state())

    @classmethod
    def from_bytes(
        cls, data: bytes, settings: ClusterSettings, origin: str = "the state"
    ) -> StoryClusterer:
        """A clusterer in the state `to_bytes` encoded; `origin` names it in errors.
        Raises `SnapshotError` when it cannot be restored."""
        clusterer = cls(settings)
        with gc_paused():
            fields, arrays = decode_state(data, origin)
            try:
                clusterer._restore(fields, arrays)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise SnapshotError(f"{origin}: damaged clusterer state ({exc!r})") from exc
        return clusterer

    # --- steps of `add` -----------------------------------------------------------------

    def _time_of(self, time: float | None) -> tuple[float, float]:
        """The document's time (the latest seen when it has none) and the clock, moved
        forward to it if it is later."""
        latest = self._recent_clocks[-1] if self._recent_clocks else None
        when = time if time is not None else latest if latest is not None else 0.0
        clock = when if latest is None else max(latest, when)
        self._recent_clocks.append(clock)
        return when, clock

    def _take_number(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    def _original_of(
        self, text_hash: str | None, shingled: Shingled | None, when: float
    ) -> Member | None:
        """The article in the window, open to `when`, that the new one copies, if any."""
        members, stories = self._members, self._stories

        def is_open(number: int) -> bool:
            return self._is_open(stories[members[number].story], when)

        same_text = None if text_hash is None else self._by_hash.get(text_hash)
        if same_text is not None and is_open(same_text):
            return members[same_text]
        if shingled is None:
            return None
        match = self._near.best_match(shingled, self.settings.duplicate_threshold, is_open)
        return None if match is None else members[match]

    def _place(
        self,
        number: int,
        doc: Analysed,
        vector: Vector,
        names: frozenset[str],
        when: float,
        clock: float,
    ) -> tuple[Story, tuple[Story, ...]]:
        """The story `doc` joins (new if none is close enough) and the stories merged into it."""
        settings = self.settings
        query = Query(vector)
        stories = self._stories
        source = doc.source
        outlets_rarely_repeat = self._outlets.outlets_rarely_repeat(
            settings.same_source_evidence, settings.same_source_repeat_share
        )
        outlet_factor = settings.same_source_factor if outlets_rarely_repeat else 1.0
        closest: Story | None = None
        closest_similarity = 0.0
        scored: list[tuple[float, int]] = []
        pool = self._index.candidates(
            vector,
            settings.query_terms,
            settings.max_posting,
            settings.max_candidates * _CANDIDATE_POOL,
        )
        # Stories kept in memory by the lag but out of the article's time are passed over.
        gaps = ((stories[n], stories[n].gap_hours(when)) for n in pool)
        open_stories = ((story, gap) for story, gap in gaps if gap <= settings.window_hours)
        for story, gap in islice(open_stories, settings.max_candidates):
            # Mean cosine to the story's articles (its centroid is the sum of their unit
            # vectors). Not the cosine to the centroid: a centroid of dissimilar articles is
            # short, so dividing by its length would make a loose story look close to all.
            similarity = query.dot(story.centroid) / story.vectors
            if similarity > closest_similarity:
                closest, closest_similarity = story, similarity
            factor = outlet_factor if source is not None and source in story.sources else 1.0
            score = self._adjusted(similarity, names, gap, factor, story)
            if score >= settings.join_threshold:
                scored.append((score, story.number))
        # A match nobody doubts (joined or not) is evidence about whether outlets repeat in a story.
        if (
            closest is not None
            and source is not None
            and closest_similarity >= settings.confident_match
        ):
            self._outlets.observe(source in closest.sources)
        if not scored:
            return self._open_story(number, doc, when, clock), ()
        scored.sort(key=lambda item: (-item[0], item[1]))
        best = scored[0][1]
        mergeable = sorted(
            [best] + [n for score, n in scored[1:] if score >= settings.merge_threshold]
        )
        survivor = self._stories[mergeable[0]]
        absorbed = tuple(self._merge(survivor, self._stories[n]) for n in mergeable[1:])
        return survivor, absorbed

    def _is_open(self, story: Story, when: float) -> bool:
        """Whether an article of time `when` may join `story`: within the window of its span."""
        return story.gap_hours(when) <= self.settings.window_hours

    def _adjusted(
        self,
        similarity: float,
        names: frozenset[str],
        gap_hours: float,
        outlet_factor: float,
        story: Story,
    ) -> float:
        """`similarity` to `story` times `outlet_factor`, lowered when the story has none of
        the article's key names and for a time gap (`gap_hours` to its span) beyond the grace
        period."""
        settings = self.settings
        score = similarity * outlet_factor
        if names and names.isdisjoint(story.names):
            score *= settings.name_miss_factor
        late = gap_hours - settings.decay_grace_hours
        if late > 0:
            score *= 0.5 ** (late / settings.decay_half_life_hours)
        return score

    def _open_story(self, number: int, doc: Analysed, when: float, clock: float) -> Story:
        story = Story(
            number=number,
            id=stable_id("story", doc.id),
            headline=doc.title.strip(),
            first_seen=when,
            last_seen=when,
            last_arrival=clock,
        )
        self._stories[number] = story
        return story

    def _merge(self, survivor: Story, absorbed: Story) -> Story:
        """Move `absorbed` into `survivor`; returns `absorbed` as it was last."""
        self._index.drop(absorbed)
        self._index.add_vector(survivor, absorbed.centroid, absorbed.vectors)
        for member_number in absorbed.members:
            self._members[member_number].story = survivor.number
        survivor.members.extend(absorbed.members)
        survivor.article_count += absorbed.article_count
        survivor.first_seen = min(survivor.first_seen, absorbed.first_seen)
        survivor.last_seen = max(survivor.last_seen, absorbed.last_seen)
        survivor.last_arrival = max(survivor.last_arrival, absorbed.last_arrival)
        survivor.sources |= absorbed.sources
        survivor.names |= absorbed.names
        survivor.languages |= absorbed.languages
        survivor.merged_from.extend([absorbed.id, *absorbed.merged_from])
        if not survivor.headline:
            survivor.headline = absorbed.headline
        del self._stories[absorbed.number]
        return absorbed

    def _remember(self, member: Member) -> None:
        """Index a member of the window (its story lists it already)."""
        self._members[member.number] = member
        self._by_id[member.id] = member.number
        if member.content_hash is not None:
            self._by_hash.setdefault(member.content_hash, member.number)
        if member.shingled is not None:
            self._near.add(member.number, member.shingled)

    # --- state ----------------------------------------------------------------------------

    def _signature_settings(self) -> list[int]:
        settings = self.settings
        return [
            settings.minhash_permutations,
            settings.lsh_bands,
            settings.lsh_rows,
            settings.shingle_size,
        ]

    def _state(self) -> tuple[dict[str, Any], dict[str, Array]]:
        """Everything needed to continue, column by column: open stories (with their
        centroids) and their members; indexes and document frequencies are rebuilt from
        these on restore. Strings go in `fields`, numbers in `arrays`, terms as ids."""
        stories, members = list(self._stories.values()), list(self._members.values())
        vocabulary = Vocabulary()
        shingled = [m.shingled.signature for m in members if m.shingled is not None]
        signatures = np.array(shingled, dtype=np.uint32)
        arrays: dict[str, Array] = {
            "recent_clocks": np.array(self._recent_clocks, dtype=np.float64),
            "story_number": np.array([s.number for s in stories], dtype=np.int64),
            "story_first_seen": np.array([s.first_seen for s in stories], dtype=np.float64),
            "story_last_seen": np.array([s.last_seen for s in stories], dtype=np.float64),
            "story_last_arrival": np.array([s.last_arrival for s in stories], dtype=np.float64),
            "story_article_count": np.array([s.article_count for s in stories], dtype=np.int64),
            "story_vectors": np.array([s.vectors for s in stories], dtype=np.int64),
            "centroid_lengths": lengths(s.centroid for s in stories),
            "centroid_terms": vocabulary.ids(flat(s.centroid for s in stories)),
            "centroid_weights": np.fromiter(
                flat(s.centroid.values() for s in stories), dtype=np.float64
            ),
            "story_member_lengths": lengths(s.members for s in stories),
            "story_members": np.fromiter(flat(s.members for s in stories), dtype=np.int64),
            "member_number": np.array([m.number for m in members], dtype=np.int64),
            "member_story": np.array([m.story for m in members], dtype=np.int64),
            "member_time": np.array([m.time for m in members], dtype=np.float64),
            "member_term_lengths": lengths(m.terms for m in members),
            "member_terms": vocabulary.ids(flat(m.terms for m in members)),
            "shingle_sizes": np.array(
                [-1 if m.shingled is None else m.shingled.size for m in members], dtype=np.int64
            ),
            "signatures": signatures.reshape(len(shingled), self.settings.minhash_permutations),
        }
        fields = {
            "signature_settings": self._signature_settings(),
            "outlet_evidence": [self._outlets.matches, self._outlets.repeats],
            "next_number": self._next_number,
            "vocabulary": vocabulary.terms(),
            "story_id": [s.id for s in stories],
            "story_headline": [s.headline for s in stories],
            "story_sources": [sorted(s.sources) for s in stories],
            "story_languages": [sorted(s.languages) for s in stories],
            "story_names": [sorted(s.names) for s in stories],
            "story_merged_from": [s.merged_from for s in stories],
            "member_id": [m.id for m in members],
            "member_duplicate_of": [m.duplicate_of for m in members],
            "member_content_hash": [m.content_hash for m in members],
        }
        return fields, arrays

    def _restore(self, fields: dict[str, Any], arrays: dict[str, Array]) -> None:
        if fields["signature_settings"] != self._signature_settings():
            raise SnapshotError(
                "the state was written with minhash_permutations, lsh_bands, lsh_rows, "
                "shingle_size = "
                f"{fields['signature_settings']}, the settings say {self._signature_settings()}"
            )
        self._recent_clocks.extend(arrays["recent_clocks"].tolist())
        matches, repeats = fields["outlet_evidence"]
        self._outlets = OutletEvidence(int(matches), int(repeats))
        self._next_number = int(fields["next_number"])
        vocabulary = np.empty(len(fields["vocabulary"]), dtype=object)
        vocabulary[:] = fields["vocabulary"]
        self._restore_stories(fields, arrays, vocabulary)
        self._restore_members(fields, arrays, vocabulary)

    def _restore_stories(
        self, fields: dict[str, Any], arrays: dict[str, Array], vocabulary: Array
    ) -> None:
        centroid_lengths = arrays["centroid_lengths"]
        terms = vocabulary[arrays["centroid_terms"]].tolist()
        centroids = rows(
            zip(terms, arrays["centroid_weights"].tolist(), strict=True), centroid_lengths
        )
        members = rows(arrays["story_members"].tolist(), arrays["story_member_lengths"])
        columns = zip(
            arrays["story_number"].tolist(),
            fields["story_id"],
            fields["story_headline"],
            arrays["story_first_seen"].tolist(),
            arrays["story_last_seen"].tolist(),
            arrays["story_last_arrival"].tolist(),
            arrays["story_article_count"].tolist(),
            zip(
                fields["story_sources"],
                fields["story_languages"],
                fields["story_names"],
                fields["story_merged_from"],
                strict=True,
            ),
            arrays["story_vectors"].tolist(),
            strict=True,
        )
        for number, story_id, headline, first, last, arrival, count, labels, vectors in columns:
            sources, languages, names, merged_from = labels
            self._stories[number] = Story(
                number=number,
                id=story_id,
                headline=headline,
                first_seen=first,
                last_seen=last,
                last_arrival=arrival,
                article_count=count,
                sources=set(sources),
                languages=set(languages),
                merged_from=list(merged_from),
                centroid=dict(next(centroids)),
                names=set(names),
                vectors=vectors,
                members=list(next(members)),
            )
            self._expiry.append((arrival, number))
        heapq.heapify(self._expiry)
        owners = np.repeat(arrays["story_number"], centroid_lengths)
        keys, starts, counts, ordered = sorted_groups(arrays["centroid_terms"], owners)
        self._index.restore(vocabulary[keys].tolist(), starts, counts, ordered.tolist())

    def _restore_members(
        self, fields: dict[str, Any], arrays: dict[str, Array], vocabulary: Array
    ) -> None:
        sizes = arrays["shingle_sizes"]
        signed = sizes >= 0
        restored = self._near.restore(
            arrays["member_number"][signed].tolist(),
            np.array(arrays["signatures"]),  # a copy: the state's bytes can go
            sizes[signed].tolist(),
        )
        shingles = iter(restored)
        term_lengths = arrays["member_term_lengths"]
        columns = zip(
            arrays["member_number"].tolist(),
            fields["member_id"],
            arrays["member_story"].tolist(),
            arrays["member_time"].tolist(),
            fields["member_duplicate_of"],
            fields["member_content_hash"],
            rows(vocabulary[arrays["member_terms"]].tolist(), term_lengths),
            signed.tolist(),
            strict=True,
        )
        members, by_id, by_hash = self._members, self._by_id, self._by_hash
        for number, member_id, story, when, duplicate_of, content_hash, terms, has in columns:
            shingled = next(shingles) if has else None
            members[number] = Member(
                number, member_id, story, when, duplicate_of, content_hash, terms, shingled
            )
            by_id[member_id] = number
            if content_hash is not None:
                by_hash.setdefault(content_hash, number)
        counts = np.bincount(arrays["member_terms"], minlength=len(vocabulary))
        present = np.flatnonzero(counts)
        self._frequencies.counts = dict(
            zip(vocabulary[present].tolist(), counts[present].tolist(), strict=True)
        )
        self._frequencies.documents = int(np.count_nonzero(term_lengths))

    # --- the window ---------------------------------------------------------------------

    def _expire(self, lagged_clock: float) -> None:
        cutoff = lagged_clock - self.settings.window_hours * 3600.0
        while self._expiry and self._expiry[0][0] < cutoff:
            arrival, number = heapq.heappop(self._expiry)
            story = self._stories.get(number)
            if story is not None and story.last_arrival == arrival:
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

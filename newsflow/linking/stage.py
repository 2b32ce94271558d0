"""The link stage: clustered articles and story updates in; cross-language story merges out.

It reads what the cluster stage publishes: clustered articles (their story, headline, lead,
language and time feed the linker) and story records (the latest state of each story, and the
clusterer's own merges). When stories of different languages are one, it publishes them as the
cluster stage publishes a merge: the absorbed story's record with `merged_into`, and the
surviving story's record over the whole group (its articles counted, its outlets and languages
listed, the absorbed stories in `merged_from`). The cluster stage keeps publishing each story
of a group on its own as its articles arrive, so the stage publishes the group again after
every update of one of its stories; a later record of a key wins downstream.

Its own records come back to it on the stories topic and are passed over. Like the other
stages it handles a batch whole or raises; what it republishes is idempotent. Its state is
saved after each batch is published and before it is committed, as the cluster stage's is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsflow.bus import Bus, Message, PoisonMessage, Topics, dead_letter, decode, encode
from newsflow.config import ClusterSettings
from newsflow.linking.linker import StoryLinker
from newsflow.linking.sightings import sighting_of_article
from newsflow.linking.state import restore_linker, save_link_state
from schemas import Article, Story

log = logging.getLogger(__name__)

STAGE_HEADER = "newsflow.stage"


def link_topics(topics: Topics) -> list[str]:
    """What the link stage reads: clustered articles and story records."""
    return [topics.clustered, topics.stories]


def open_link_stage(
    bus: Bus, topics: Topics, settings: ClusterSettings, state_path: Path | None = None
) -> LinkStage:
    """The link stage with the model loaded (whether `[cluster] cross_language` is on is the
    caller's to check); restored from `state_path` when that file exists, and saving to it
    after each batch. Raises `LinkingUnavailable` when the model is not installed,
    `LinkStateError` when the state file cannot be restored."""
    linker, records = restore_linker(settings, state_path)
    return LinkStage(bus, topics, linker, state_path, _records=records)


def group_record(root: Story, members: Iterable[Story]) -> Story:
    """The record of a group of stories that are one, under `root`'s id: the articles of the
    stories the clusterer did not merge away counted (a merged one's are in its survivor's
    count already), outlets and languages joined, the other stories in `merged_from`."""
    group = [root, *(member for member in members if member.id != root.id)]
    merged_from = list(root.merged_from)
    for member in group[1:]:
        merged_from += [member.id, *member.merged_from]
    return root.model_copy(
        update={
            "first_seen": min(member.first_seen for member in group),
            "last_seen": max(member.last_seen for member in group),
            "article_count": sum(m.article_count for m in group if m.merged_into is None),
            "sources": sorted({source for member in group for source in member.sources}),
            "languages": sorted({code for member in group for code in member.languages}),
            "merged_from": list(dict.fromkeys(merged_from)),
            "merged_into": None,
        }
    )


@dataclass
class LinkStage:
    """Clustered articles and story records in; story records of linked stories out."""

    bus: Bus
    topics: Topics
    linker: StoryLinker
    state_path: Path | None = None
    name: str = "link"
    # The latest record of each story the cluster stage published, by story id.
    _records: dict[str, Story] = field(default_factory=dict)

    def handle(self, messages: Sequence[Message]) -> None:
        touched: dict[str, None] = {}
        for message in messages:
            if message.headers.get(STAGE_HEADER) == self.name:
                continue
            try:
                story_id = self._take(message)
            except PoisonMessage as exc:
                log.warning("dead-lettering %s@%s: %s", message.topic, message.offset, exc)
                dead_letter(self.bus, self.topics, message, str(exc), self.name)
                continue
            if story_id is not None:
                touched[self.linker.merges.final(story_id)] = None
        if touched:
            groups = self._groups()
            for root in touched:
                self._publish_group(root, groups.get(root, []))
        self._forget_old_records()
        self.bus.flush()
        if self.state_path is not None:
            save_link_state(self.state_path, self.linker, self._records.values())

    def _take(self, message: Message) -> str | None:
        """Take in one message; returns the story it touched, if any."""
        if message.topic == self.topics.stories:
            story = decode(message, Story)
            self._records[story.id] = story
            if story.merged_into is not None:
                self.linker.note_merge(story.id, story.merged_into)
            return story.id
        sighting = sighting_of_article(decode(message, Article))
        if sighting is None:
            return None
        self.linker.observe(sighting)
        return sighting.story_id

    def _groups(self) -> dict[str, list[Story]]:
        """The records of the stories held, by the story their group went into."""
        final = self.linker.merges.final
        groups: dict[str, list[Story]] = {}
        for key, record in self._records.items():
            groups.setdefault(final(key), []).append(record)
        return groups

    def _publish_group(self, root: str, members: list[Story]) -> None:
        """Publish the group of `root` when it holds more than one story and the cluster
        stage's record of `root` has arrived."""
        survivor = self._records.get(root)
        if survivor is None or len(members) < 2:
            return
        self._publish(group_record(survivor, members))
        for member in members:
            if member.id != root and member.merged_into is None:
                self._publish(member.model_copy(update={"merged_into": root}))

    def _publish(self, story: Story) -> None:
        self.bus.publish(self.topics.stories, story.id, encode(story), {STAGE_HEADER: self.name})

    def _forget_old_records(self) -> None:
        """Drop the records of stories closed since (older than the linker remembers)."""
        horizon = self.linker.horizon
        for key in [key for key, record in self._records.items() if key not in self.linker]:
            if self._records[key].last_seen.timestamp() < horizon:
                del self._records[key]

"""Behaviour of the story clusterer on real and hand-made articles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.cluster_data import syndicated_copy
from newsflow.clustering import Assignment, Document, Merges, StoryClusterer, StoryState
from newsflow.config import ClusterSettings
from tests.cluster.conftest import (
    bridged_stories,
    event_write_up,
    paired_write_ups,
    seed_documents,
)

T0 = datetime(2025, 3, 6, 9, 0, tzinfo=UTC)


def _doc(doc_id: str, title: str, text: str, hours: float = 0.0, **extra: str) -> Document:
    return Document(doc_id, title, text, published_at=T0 + timedelta(hours=hours), **extra)


def test_the_two_seed_write_ups_are_one_story(settings: ClusterSettings) -> None:
    first, second = seed_documents()
    clusterer = StoryClusterer(settings)
    one, two = clusterer.add(first), clusterer.add(second)
    assert one.story_id == two.story_id
    assert two.duplicate_of is None  # same event, different wording: not a copy
    assert two.story.article_count == 2
    assert two.story.sources == ("Example Daily", "Example Wire")
    assert two.story.headline == first.title


def test_corpus_pages_stay_out_of_the_seed_story(
    settings: ClusterSettings, corpus: list[Document]
) -> None:
    first, second = seed_documents()
    clusterer = StoryClusterer(settings)
    story_id = clusterer.add(first).story_id
    others = [clusterer.add(replace(doc, published_at=first.published_at)) for doc in corpus]
    assert clusterer.add(second).story_id == story_id
    assert all(assignment.story_id != story_id for assignment in others)


def test_a_syndicated_copy_is_a_duplicate_of_its_original(
    settings: ClusterSettings, corpus: list[Document]
) -> None:
    clusterer = StoryClusterer(settings)
    originals = {doc.id: clusterer.add(doc) for doc in corpus}
    for doc in corpus:
        copy = syndicated_copy(doc)
        assert copy.title != doc.title and copy.text != doc.text
        assignment = clusterer.add(copy)
        assert assignment.duplicate_of == doc.id
        assert assignment.story_id == originals[doc.id].story_id


def test_the_same_text_in_other_case_and_spacing_is_a_duplicate(settings: ClusterSettings) -> None:
    clusterer = StoryClusterer(settings)
    original = clusterer.add(_doc("a", "Title", "Short   text of the page.", source="x"))
    again = clusterer.add(_doc("b", "Other title", "short text of the PAGE.", source="y"))
    assert again.duplicate_of == "a"
    assert again.story_id == original.story_id
    assert again.story.article_count == 2


def test_an_edited_copy_of_text_without_spaces_is_a_duplicate(settings: ClusterSettings) -> None:
    sentences = [
        f"阿里巴巴第{n}次发布了推理模型QwQ-32B，参数为三百二十亿，与DeepSeek-R1相比。"
        for n in range(12)
    ]
    edited = [*sentences[:5], "一位分析师表示，这款模型的表现令人意外。", *sentences[6:]]
    clusterer = StoryClusterer(settings)
    original = clusterer.add(_doc("zh-1", "阿里巴巴发布QwQ-32B", "".join(sentences)))
    copy = clusterer.add(
        _doc("zh-2", "QwQ-32B问世", "".join(edited) + "版权所有，未经许可不得转载。")
    )
    assert copy.duplicate_of == "zh-1" and copy.story_id == original.story_id


def test_text_with_a_lone_surrogate_is_clustered(settings: ClusterSettings) -> None:
    # JSON strings may hold lone surrogates ("\ud800"); they cannot be encoded as plain UTF-8.
    clusterer = StoryClusterer(settings)
    first = clusterer.add(_doc("a", "Broken \ud800 title", "Some text \ud800 of the page here."))
    again = clusterer.add(_doc("b", "Broken \ud800 title", "Some text \ud800 of the page here."))
    assert again.duplicate_of == "a" and again.story_id == first.story_id


def test_a_redelivered_article_keeps_its_assignment_and_counts_once(
    settings: ClusterSettings,
) -> None:
    first, second = seed_documents()
    clusterer = StoryClusterer(settings)
    clusterer.add(first)
    assigned = clusterer.add(second)
    again = clusterer.add(second)
    assert (again.story_id, again.duplicate_of) == (assigned.story_id, assigned.duplicate_of)
    assert again.story.article_count == 2


def test_same_input_order_gives_the_same_assignments(
    settings: ClusterSettings, corpus: list[Document]
) -> None:
    documents = [*seed_documents(), *corpus, *(syndicated_copy(doc) for doc in corpus[:5])]

    def run() -> list[tuple[str, str | None]]:
        clusterer = StoryClusterer(settings)
        return [(a.story_id, a.duplicate_of) for a in map(clusterer.add, documents)]

    assert run() == run()


def test_a_story_expires_from_the_window_by_age(settings: ClusterSettings) -> None:
    text = "Flooding closed the Rhine bridge at Koblenz on Monday, officials said."
    clusterer = StoryClusterer(settings)
    first = clusterer.add(_doc("a", "Rhine bridge closed", text, source="x"))
    inside = clusterer.add(_doc("b", "Koblenz bridge shut", text + " More soon.", 100, source="y"))
    assert inside.story_id == first.story_id
    late = clusterer.add(
        _doc("c", "Rhine bridge closed", text, 100 + settings.window_hours + 1, source="x")
    )
    assert late.story_id != first.story_id
    assert late.duplicate_of is None  # the original left the window with its story


def test_a_story_leaves_memory_once_the_lagged_clock_passes_it(settings: ClusterSettings) -> None:
    """With a lag of 2 arrivals, the clock that ages stories out is the one before the latest."""
    lagged = settings.model_copy(update={"window_lag_articles": 2})
    clusterer = StoryClusterer(lagged)
    clusterer.add(_doc("a", "Harbour strike", "Dockers at Rotterdam walked out on Monday."))
    clusterer.add(_doc("a2", "Rotterdam dockers strike", "Dockers at Rotterdam walked out."))
    later = settings.window_hours + 1
    clusterer.add(_doc("b", "Tulip prices", "Tulip prices rose at the Aalsmeer auction.", later))
    kept = clusterer.add(_doc("a", "Harbour strike", "Dockers at Rotterdam walked out on Monday."))
    assert kept.story.article_count == 2  # a redelivery: the story is still in memory
    clusterer.add(_doc("c", "Cheese market", "Gouda cheese sold well at Alkmaar.", later))
    forgotten = clusterer.add(
        _doc("a", "Harbour strike", "Dockers at Rotterdam walked out on Monday.")
    )
    assert forgotten.story.article_count == 1  # the story left; "a" is new again


_EVENTS = {
    "quake": (
        ("Quake shakes Izmir", "A magnitude 6.1 earthquake struck near Izmir, Turkey."),
        ("Izmir hit by 6.1 tremor", "Buildings swayed in Izmir after a 6.1 magnitude quake."),
    ),
    "launch": (
        ("Ariane 6 lifts off", "Europe's Ariane 6 rocket launched from Kourou carrying Galileo."),
        ("Kourou launch for Ariane 6", "Ariane 6 carried two Galileo satellites from Kourou."),
    ),
    "strike": (
        ("Lufthansa pilots strike", "Lufthansa pilots walked out at Frankfurt and Munich."),
        ("Pilots halt Lufthansa flights", "Frankfurt and Munich saw Lufthansa pilots strike."),
    ),
}


@pytest.mark.parametrize("lag", [1, 100])
def test_a_file_grouped_by_story_clusters_whatever_the_order_of_its_dates(
    settings: ClusterSettings, lag: int
) -> None:
    """Each event's write-ups arrive together, the events years apart and not in time order:
    the clock jumps ahead at the first event, and the later ones are still found."""
    clusterer = StoryClusterer(settings.model_copy(update={"window_lag_articles": lag}))
    years = {"quake": 2 * 8760.0, "launch": 0.0, "strike": 8760.0}
    for event, write_ups in _EVENTS.items():
        first, second = (
            clusterer.add(_doc(f"{event}-{n}", title, text, years[event] + n, source=f"o{n}"))
            for n, (title, text) in enumerate(write_ups)
        )
        assert first.story_id == second.story_id, event


def test_shuffled_dates_need_the_lag(settings: ClusterSettings) -> None:
    """An event's write-ups years apart in time from their neighbours in the file: the second
    finds the first only while the lagged clock has not passed it."""

    def run(lag: int) -> bool:
        clusterer = StoryClusterer(settings.model_copy(update={"window_lag_articles": lag}))
        (title1, text1), (title2, text2) = _EVENTS["quake"]
        first = clusterer.add(_doc("q1", title1, text1, 0.0, source="o1"))
        clusterer.add(_doc("l1", *_EVENTS["launch"][0], 8760.0, source="o1"))
        second = clusterer.add(_doc("q2", title2, text2, 1.0, source="o2"))
        return first.story_id == second.story_id

    assert run(lag=3)
    assert not run(lag=1)


def test_a_story_far_away_in_time_is_not_joined_even_in_memory(settings: ClusterSettings) -> None:
    text = "Flooding closed the Rhine bridge at Koblenz on Monday, officials said."
    clusterer = StoryClusterer(settings)  # the default lag keeps both stories in memory
    recent = clusterer.add(_doc("a", "Rhine bridge closed", text, 8760.0, source="x"))
    old = clusterer.add(_doc("b", "Rhine bridge closed", text, 0.0, source="y"))
    assert old.story_id != recent.story_id
    assert old.duplicate_of is None  # a copy, but of an article a year away


def test_an_article_matching_two_stories_merges_them(settings: ClusterSettings) -> None:
    merging = settings.model_copy(update={"join_threshold": 0.3, "merge_threshold": 0.3})
    clusterer = StoryClusterer(merging)
    first, second, bridge = bridged_stories()
    left, right = clusterer.add(first), clusterer.add(second)
    assert left.story_id != right.story_id
    both = clusterer.add(bridge)
    assert both.story_id == left.story_id  # the older story absorbs the younger
    assert [story.id for story in both.merged] == [right.story_id]
    assert both.story.merged_from == (right.story_id,)
    assert both.story.article_count == 3
    assert both.story.sources == ("one", "three", "two")
    assert clusterer.add(_doc("b", "", "", 3)).story_id == left.story_id


def test_merges_follow_a_story_through_every_merge_after_it() -> None:
    def state(story_id: str) -> StoryState:
        return StoryState(story_id, "headline", T0, T0, 1, (), ())

    merges = Merges()
    merges.record(Assignment("x", "b", None, state("b"), (state("c"),)))
    merges.record(Assignment("y", "a", None, state("a"), (state("b"), state("d"))))

    assert [merges.final(story) for story in "abcde"] == ["a", "a", "a", "a", "e"]


def test_german_and_french_write_ups_cluster_by_event(settings: ClusterSettings) -> None:
    german = [
        _doc(
            "de1",
            "Bundesbank senkt Prognose für 2025",
            "Die Deutsche Bundesbank hat ihre Wachstumsprognose für 2025 auf 0,2 Prozent "
            "gesenkt. Präsident Joachim Nagel verwies am Freitag in Frankfurt auf Zölle.",
            source="Zeitung A",
            language="de",
        ),
        _doc(
            "de2",
            "Nagel: Wirtschaft wächst kaum",
            "Bundesbank-Präsident Joachim Nagel erwartet für 2025 nur noch 0,2 Prozent "
            "Wachstum. Die Bundesbank nannte in Frankfurt die Zölle als Hauptgrund.",
            1,
            source="Zeitung B",
            language="de",
        ),
    ]
    french = [
        _doc(
            "fr1",
            "Incendie à Marseille : l’entrepôt de Gémenos détruit",
            "Un incendie a détruit dans la nuit un entrepôt de Gémenos, près de Marseille, "
            "a indiqué la préfecture des Bouches-du-Rhône. Aucun blessé n’est à déplorer.",
            2,
            source="Journal A",
            language="fr",
        ),
        _doc(
            "fr2",
            "Gémenos : un entrepôt ravagé par les flammes",
            "Les pompiers des Bouches-du-Rhône ont lutté toute la nuit contre l’incendie "
            "d’un entrepôt à Gémenos. La préfecture ne signale aucun blessé.",
            3,
            source="Journal B",
            language="fr",
        ),
    ]
    clusterer = StoryClusterer(settings)
    de1, de2, fr1, fr2 = (clusterer.add(doc) for doc in [*german, *french])
    assert de1.story_id == de2.story_id
    assert fr1.story_id == fr2.story_id
    assert de1.story_id != fr1.story_id
    assert fr2.story.languages == ("fr",)


def test_articles_without_a_time_take_the_latest_time_seen(settings: ClusterSettings) -> None:
    clusterer = StoryClusterer(settings)
    untimed = clusterer.add(Document("a", "First", "A first article about tulips."))
    assert untimed.story.first_seen == datetime(1970, 1, 1, tzinfo=UTC)
    clusterer.add(_doc("b", "Second", "A second article, about tractors.", 5))
    later = clusterer.add(Document("c", "Third", "A third article, on quantum dots."))
    assert later.story.first_seen == T0 + timedelta(hours=5)


def test_the_key_name_check_separates_same_offence_different_players(
    settings: ClusterSettings,
) -> None:
    first = _doc(
        "a",
        "Cowboys linebacker Marcus Hale arrested on DUI charge",
        "Dallas Cowboys linebacker Marcus Hale was arrested early Sunday in Frisco, Texas, on "
        "suspicion of driving while intoxicated, police said. Hale, 26, was released on bond.",
        source="one",
    )
    second = _doc(
        "b",
        "Ravens receiver Tyrell Dunn arrested for DUI",
        "Baltimore Ravens wide receiver Tyrell Dunn was arrested Saturday night in Owings "
        "Mills, Maryland, on suspicion of driving under the influence, police said.",
        1,
        source="two",
    )
    checking = settings.model_copy(update={"name_miss_factor": 0.3})
    clusterer = StoryClusterer(checking)
    assert clusterer.add(first).story_id != clusterer.add(second).story_id


def test_outlets_seen_writing_follow_ups_keep_them_in_their_story(
    settings: ClusterSettings,
) -> None:
    clusterer = StoryClusterer(settings)
    stories = paired_write_ups(clusterer, second_outlet=lambda event: f"outlet-{event}")

    follow_up = clusterer.add(event_write_up("e0c", 0, 9, "outlet-0"))  # loosely worded

    assert follow_up.story_id == stories[0]


def test_where_outlets_never_repeat_a_second_article_of_one_outlet_opens_a_story(
    settings: ClusterSettings,
) -> None:
    clusterer = StoryClusterer(settings)
    stories = paired_write_ups(clusterer, second_outlet=lambda event: f"other-{event}")

    same_outlet = clusterer.add(event_write_up("e0c", 0, 9, "outlet-0"))
    new_outlet = clusterer.add(event_write_up("e0d", 0, 9, "outlet-new"))

    assert same_outlet.story_id != stories[0]
    assert new_outlet.story_id == stories[0]

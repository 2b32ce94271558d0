"""What the linker is told of a clustered article, from either side of newsflow: a pipeline
`Article` with its story id, or a `newsflow cluster` document with its assignment."""

from __future__ import annotations

from newsflow.clustering import Assignment, Document, Merges
from newsflow.language import declared_code, language_of
from newsflow.linking.linker import Link, Sighting, StoryLinker
from newsflow.text import lead_of
from schemas import Article


def sighting_of_document(doc: Document, assignment: Assignment) -> Sighting:
    """A clustered document; one without a time takes its story's latest time, as the
    clusterer dates it, and one without a language gets the one its text shows."""
    return Sighting(
        story_id=assignment.story_id,
        article_id=doc.id,
        title=doc.title,
        lead=lead_of(doc.text),
        language=declared_code(doc.language) or language_of(doc.title, doc.text),
        published_at=doc.published_at or assignment.story.last_seen,
    )


def follow_clusterer(
    linker: StoryLinker, merges: Merges, doc: Document, assignment: Assignment
) -> Link | None:
    """Take in one document as the clusterer assigned it: the linker notes the clusterer's
    merges and sees the document; the link it led to, if any, goes into `merges` too (a run's
    merges, with the clusterer's recorded by the caller, for the final story of each one)."""
    for absorbed in assignment.merged:
        linker.note_merge(absorbed.id, assignment.story_id)
    link = linker.observe(sighting_of_document(doc, assignment))
    if link is not None:
        merges.merge(link.absorbed, link.into)
    return link


def sighting_of_article(article: Article) -> Sighting | None:
    """A clustered article; None when it carries no story id (it was not clustered)."""
    if article.story_id is None:
        return None
    return Sighting(
        story_id=article.story_id,
        article_id=article.id,
        title=article.title,
        lead=article.lead or lead_of(article.text),
        language=declared_code(article.language) or language_of(article.title, article.text),
        published_at=article.event_time,
    )

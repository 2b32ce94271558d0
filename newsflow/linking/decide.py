"""The linker's decisions, pure: what text stands for a story, when to embed it again, and
which story in another language, if any, it is one with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

# Headlines of a story's articles that its text holds: the first article's with its lead, then
# the next distinct ones. A story is embedded again each time its article count doubles while
# its text can still grow (after 1, 2, 4 articles): at most three embeddings a story.
MAX_HEADLINES = 4
# Words of the lead embedded: the model reads 512 tokens at most, and time grows with length.
LEAD_WORDS = 60


def story_text(headlines: Sequence[str], lead: str) -> str:
    """The text embedded for a story: its first headline and lead, then its other headlines."""
    first, *others = headlines or [""]
    lead_words = " ".join(lead.split()[:LEAD_WORDS])
    return "\n".join(part for part in (first, lead_words, *others) if part.strip())


def due_for_embedding(articles: int, embedded_at: int) -> bool:
    """Whether a story of `articles` articles, last embedded when it had `embedded_at`
    (0: never), is to be embedded now: first at one article, again at twice as many while
    its text still grows."""
    if embedded_at == 0:
        return articles > 0
    return articles >= 2 * embedded_at and embedded_at < MAX_HEADLINES


def pick_partner(
    similarities: NDArray[np.float32],
    groups: Sequence[str],
    eligible: Sequence[bool],
    threshold: float,
    margin: float,
) -> int | None:
    """The index of the story to link with, or None.

    `similarities` are cosines of the story to the open stories of other groups, `groups`
    their groups (stories already one), `eligible` whether each may be linked (another
    language, close enough in time). The best eligible story is picked when its cosine reaches
    `threshold` and leads the best story of any other group, eligible or not, by `margin`:
    multilingual embeddings put everything of one topic close, so a clear winner is the
    evidence, not a high cosine alone."""
    if len(similarities) == 0:
        return None
    eligible_mask = np.asarray(eligible, dtype=bool)
    if not eligible_mask.any():
        return None
    masked = np.where(eligible_mask, similarities, -np.inf)
    best = int(np.argmax(masked))
    best_score = float(similarities[best])
    if best_score < threshold:
        return None
    others = np.asarray([group != groups[best] for group in groups], dtype=bool)
    runner_up = float(similarities[others].max()) if others.any() else -1.0
    return best if best_score - runner_up >= margin else None

"""Streaming story clustering: near-duplicate copies and same-event stories (pure logic)."""

from newsflow.clustering.clusterer import StoryClusterer
from newsflow.clustering.model import Assignment, Document, Merges, StoryState

__all__ = ["Assignment", "Document", "Merges", "StoryClusterer", "StoryState"]

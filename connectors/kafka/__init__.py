"""Kafka transport of the pipeline's bus: producer, group consumers, topics, offsets."""

from connectors.kafka.bus import KafkaBus
from connectors.kafka.consumer import KafkaBusConsumer
from connectors.kafka.errors import BusUnavailable, DeliveryFailed

__all__ = ["BusUnavailable", "DeliveryFailed", "KafkaBus", "KafkaBusConsumer"]

"""Errors the Kafka bus raises to its callers."""


class BusUnavailable(RuntimeError):
    """The broker cannot be reached, so nothing can be published or read."""


class DeliveryFailed(RuntimeError):
    """Some published records were not acknowledged by the broker."""

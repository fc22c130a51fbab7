"""The dead-letter topic: a message that cannot be processed goes here with why, and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer

SEND_TIMEOUT_S = 30
MESSAGE_LIMIT = 500  # characters of the error message kept in a header


class DeadLetters:
    def __init__(
        self,
        producer: KafkaProducer,
        topic: str,
        group: str,
        protect: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.group = group
        # a topic whose messages may carry plain personal data seals them before they go on
        self.protect = protect

    @staticmethod
    def reason_of(error: BaseException) -> str:
        return str(getattr(error, "reason", None) or error)[:MESSAGE_LIMIT]

    def send(self, record: Any, error: BaseException) -> None:
        """Copy the original key, value and headers; add ``dlq_*`` headers; wait for the ack."""
        why = {
            "dlq_error_class": type(error).__name__,
            "dlq_error_message": self.reason_of(error),
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_consumer_group": self.group,
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        headers = [*(record.headers or []), *((k, v.encode()) for k, v in why.items())]
        value = self.protect(record.value) if self.protect and record.value else record.value
        future = self.producer.send(self.topic, key=record.key, value=value, headers=headers)
        future.get(timeout=SEND_TIMEOUT_S)

"""An email a scheduled report sends: built here, delivered (once per period and target) by sidecar/jobs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    target: str  # who, for exactly-once delivery: a user id, or "team id:user id"
    to: str
    subject: str
    body: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (file name, MIME type, data)

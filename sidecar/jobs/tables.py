"""Tables of scheduled jobs (issue #17): one run per job and period, and the deliveries a run made.

`job_runs` is the lock: a run is claimed by inserting its (job, period) row first, so the unique
constraint lets exactly one process, on any machine, run a job for a period. `job_deliveries` holds one
row per email a run sent (claimed in the email's own transaction), so a failed run that is retried
never sends anyone the same report twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sidecar.db.base import Base, UTCDateTime, utcnow


class JobRun(Base):
    """One job's run for one period ("2026-W49", "2026-12", "2026-Q4", "2026-12-05", "2026-12-05T13")."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    worker: Mapped[str] = mapped_column(String(120))  # host:pid of the process that claimed it last
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class JobDelivery(Base):
    """An email a job's run sent for its period, to one target (a user, or a user for one team)."""

    __tablename__ = "job_deliveries"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(120), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

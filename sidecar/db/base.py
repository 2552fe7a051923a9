from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# How far the server's clock is moved from the real one. Zero except under end-to-end tests, which
# move it through POST /api/test/clock (DRONA_TEST_CLOCK, local only) to "come back a day later"
# without waiting. One value per process: `drona serve` is one process.
_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """The server's clock: every deadline, completion time and streak day is read from here."""
    return datetime.now(UTC) + _clock_offset


def clock_offset() -> timedelta:
    return _clock_offset


def set_clock_offset(offset: timedelta) -> None:
    """Move the server's clock (tests only: the API's test-clock endpoint is settings-gated)."""
    global _clock_offset
    _clock_offset = offset

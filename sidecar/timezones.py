"""Time zone names: IANA keys only, checked against the zone database (one check for every domain)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

MAX_ZONE_LENGTH = 64  # user_profiles.timezone; the longest IANA key is 32 characters
# Files in the zone folder that ZoneInfo loads but that are no IANA zone: the machine's own zone.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


@cache
def _zone_keys() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def is_zone_key(name: object) -> bool:
    """Whether `name` is an IANA time zone key such as "Asia/Kolkata", checked against the zone database.

    ZoneInfo alone is not a check: it opens whatever file the name points at, so "Europe" (a folder)
    or a 5,000-character name raise OSError, and "zone.tab" a ValueError, instead of saying no.
    """
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_LENGTH and name in _zone_keys()

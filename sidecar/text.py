"""Text that every database and every JSON encoder accepts: checks for request bodies, repair on read.

JSON may spell any UTF-16 code unit as an escape, so `"\\ud800"` is valid JSON whose string is not
valid Unicode (a lone surrogate). Python's json module decodes it without complaint, and it then
fails far from the request: PostgreSQL and SQLite refuse to store it, and FastAPI cannot encode a
response that echoes it (a 500). U+0000 is valid Unicode, but PostgreSQL's text types cannot hold
it (SQLite can, so the same request would behave differently per database). So bodies are checked
once, as bytes, before any endpoint parses them (sidecar/web/limits.py).

Text stored before this check existed can only hold lone surrogates in JSON columns (the JSON
encoder escapes them; text columns refuse them): `repair` fixes it where it is read (onboarding
state), and `SafeJSONResponse` keeps error bodies, which may quote input, from failing.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import Strict
from starlette.responses import JSONResponse

# Request bodies take JSON's own types, as the OpenAPI document states them. Left lax, pydantic turns 0.0,
# 1 or "false" into a bool and "5", 5.0 or true into an int: it accepts bodies the document calls invalid
# (the API fuzzing's negative-data check found one) and reads a client's mistake as a choice. Strict: a
# JSON true is a bool and a JSON 5 an int, nothing else. Every bool and int field of a request body uses
# these (tests/test_body_types.py).
JsonBool = Annotated[bool, Strict()]
JsonInt = Annotated[int, Strict()]

# A \uXXXX escape and the backslashes before it: an even number of them means "\\" pairs and
# then a literal "u", not an escape.
_ESCAPE = re.compile(rb"(\\+)u([0-9a-fA-F]{4})")
_LOW_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def body_text_problem(body: bytes) -> str | None:
    """Why a JSON request body holds text we cannot store, or None when it is fine.

    Refused: bytes that are not UTF-8 (RFC 8259 requires it; Python's json would also accept
    UTF-16 and UTF-32 and let lone surrogates in that way), and \\u escapes of a lone surrogate or
    of U+0000. Surrogate pairs (\\ud83d\\ude00, an emoji) are fine.
    """
    if not body:
        return None
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        return "The request body must be JSON encoded as UTF-8."
    try:
        body.decode("utf-8")  # strict: also refuses UTF-8-encoded surrogates (ED A0 80)
    except UnicodeDecodeError:
        return "The request body is not valid UTF-8."
    if b"\\u" not in body:
        return None  # the common case: one substring search
    paired_low = -1  # where the low half of the last valid pair starts
    for match in _ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue  # "\\u..." is an escaped backslash followed by the letter u
        unit = int(match.group(2), 16)
        start = match.start(1) + len(match.group(1)) - 1  # the backslash of this escape
        if unit == 0:
            return "Text in the request must not contain the NUL character (\\u0000)."
        if 0xD800 <= unit <= 0xDBFF:
            if _LOW_ESCAPE.match(body, match.end()):
                paired_low = match.end()
                continue
            return "Text in the request contains a lone surrogate (an unpaired \\ud800-\\udbff escape)."
        if 0xDC00 <= unit <= 0xDFFF and start != paired_low:
            return "Text in the request contains a lone surrogate (an unpaired \\udc00-\\udfff escape)."
    return None


def repair(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (dict keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {repair(k): repair(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [repair(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    """JSONResponse that cannot fail on text stored before bodies were checked.

    A lone surrogate makes UTF-8 encoding fail; only then is the text repaired (U+FFFD), so the
    common case costs nothing extra.
    """

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub(REPLACEMENT, text).encode("utf-8")

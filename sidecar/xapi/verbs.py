"""The short names stored in `xapi_statements.verb` and `.object_type`, and the xAPI IRIs they stand for.

Verbs come from the ADL vocabulary (http://adlnet.gov/expapi/verbs/...) where it has one, else from
the Tin Can registry (http://id.tincanapi.com/...). The short names are what analytics filters on;
the IRIs are what an LRS sees.
"""

from __future__ import annotations

from typing import Final

ADL = "http://adlnet.gov/expapi/verbs/"
TINCAN = "http://id.tincanapi.com/verb/"

# short name -> (IRI, English display)
VERBS: Final[dict[str, tuple[str, str]]] = {
    "viewed": (TINCAN + "viewed", "viewed"),  # a lesson opened (a "started" progress event)
    "completed": (ADL + "completed", "completed"),  # a lesson completed on reading
    "attempted": (ADL + "attempted", "attempted"),  # an exercise submission, graded
    "asked": (ADL + "asked", "asked"),  # a hint asked for (the hint ladder)
    "interacted": (ADL + "interacted", "interacted"),  # one tutor turn
    "answered": (ADL + "answered", "answered"),  # one quiz item answered
    "responded": (ADL + "responded", "responded"),  # one assessment item answered
    "reviewed": (TINCAN + "reviewed", "reviewed"),  # one spaced-review card graded
}

ACTIVITY = "http://adlnet.gov/expapi/activities/"
# object_type -> activity type IRI
ACTIVITY_TYPES: Final[dict[str, str]] = {
    "lesson": ACTIVITY + "lesson",
    "exercise": ACTIVITY + "performance",  # code written and run against tests
    "quiz_item": ACTIVITY + "cmi.interaction",
    "assessment_item": ACTIVITY + "cmi.interaction",
    "assessment": ACTIVITY + "assessment",
    "review_card": ACTIVITY + "cmi.interaction",
    "conversation": "http://id.tincanapi.com/activitytype/chat-channel",  # the tutor's thread on a lesson
    "course": ACTIVITY + "course",
    "skill": ACTIVITY + "objective",
}


def verb_iri(verb: str) -> str:
    return VERBS[verb][0]


def activity_type(object_type: str) -> str:
    return ACTIVITY_TYPES[object_type]

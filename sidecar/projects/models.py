"""API shapes of Gold projects: options, the learner's project and submissions, the reviewer's queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from sidecar.certificates.models import IssuedPublic
from sidecar.text import JsonBool

Points = Annotated[Decimal, Field(ge=0, le=1000, max_digits=6, decimal_places=2)]
Comment = Annotated[str, Field(max_length=2000)]


class TestPublic(BaseModel):
    name: str
    code: str


class OptionPublic(BaseModel):
    """A predefined project: what to build and what "done" looks like. Never its reference solution or
    hidden tests."""

    id: str
    title: str
    summary: str
    brief: str = Field(description="Markdown.")
    requirements: list[str]
    entry: str = Field(description="The module the tests exercise: the project must contain it.")
    visible_tests: list[TestPublic] = Field(description="The tests you may read; hidden ones run too.")
    hidden_tests: int = Field(description="How many hidden tests run besides.")


class CategoryPublic(BaseModel):
    key: str
    label: str
    max_points: float


class RubricPublic(BaseModel):
    categories: list[CategoryPublic]
    pass_percent: float
    min_category_percent: float


class ProjectPublic(BaseModel):
    id: str
    course_id: str
    kind: Literal["option", "custom"]
    option_id: str | None
    title: str
    description: str | None
    status: Literal["active", "proposed", "returned"] = Field(
        description="active: you can submit; proposed: a custom proposal waits for a reviewer; returned: the "
        "proposal came back with feedback (propose again or choose an option).")
    feedback: str | None
    created_at: datetime
    updated_at: datetime


class FindingPublic(BaseModel):
    severity: Literal["error", "warning", "info"]
    message: str
    path: str | None = None
    line: int | None = None


class CriterionPublic(BaseModel):
    """One rubric category: the Project Guide's suggestion and findings, the reviewer's score and comment."""

    key: str
    label: str
    max_points: float
    suggested_points: float | None = Field(description="The Project Guide's advisory suggestion (None: none).")
    summary: str
    findings: list[FindingPublic]
    points: float | None = Field(None, description="The reviewer's score, once reviewed.")
    comment: str | None = None


class TestResultPublic(BaseModel):
    name: str
    passed: bool
    message: str
    hidden: bool


class TestRunPublic(BaseModel):
    passed: int
    total: int
    status: str
    message: str
    results: list[TestResultPublic]


class FilePublic(BaseModel):
    path: str
    size: int
    sha256: str


class SubmissionPublic(BaseModel):
    id: str
    project_id: str
    course_id: str
    number: int
    title: str
    option_id: str | None
    status: Literal["pending", "returned", "approved"]
    source: Literal["upload", "git"]
    git_url: str | None
    demo_url: str
    notes: str
    files: list[FilePublic]
    created_at: datetime
    advisory: str
    criteria: list[CriterionPublic]
    tests: TestRunPublic | None
    ruff: str = Field(description="Whether ruff ran in the pre-review, or why it was skipped.")
    feedback: str | None = Field(description="The reviewer's overall feedback.")
    percent: float | None = Field(description="The reviewed overall percent.")
    reviewed_at: datetime | None
    certificate_id: str | None
    verify_url: str | None


class GoldStatePublic(BaseModel):
    """The learner's Gold for a course: the rubric, their project and their submissions (newest first)."""

    course_id: str
    course_title: str
    rubric: RubricPublic
    options: int = Field(description="How many predefined options the course offers.")
    project: ProjectPublic | None
    submissions: list[SubmissionPublic]
    certificate_id: str | None
    verify_url: str | None
    upload_limit_mb: int
    git_submissions: bool = Field(description="Whether this server accepts a git URL instead of an archive.")


class ChoiceCreate(BaseModel):
    option_id: str = Field(min_length=1, max_length=64)


class ProposalCreate(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=20, max_length=5000,
                             description="What you will build, for whom, and what done looks like.")


class ReviewCreate(BaseModel):
    decision: Literal["approve", "return"]
    scores: dict[str, Points] = Field(default_factory=dict, max_length=20,
                                      description="Points per rubric category (0..its maximum); approve needs all.")
    comments: dict[str, Comment] = Field(default_factory=dict, max_length=20,
                                         description="A comment per rubric category, shown to the learner.")
    feedback: str = Field("", max_length=5000, description="Overall feedback; required to return a submission.")


class ProposalDecisionCreate(BaseModel):
    decision: Literal["approve", "return"]
    feedback: str = Field("", max_length=5000, description="Required to return a proposal.")


class QueueSubmissionPublic(BaseModel):
    id: str
    course_id: str
    course_title: str
    learner_name: str
    title: str
    number: int
    created_at: datetime
    suggested_percent: float | None = Field(description="The Project Guide's suggestions, overall (advisory).")


class ProposalPublic(BaseModel):
    project_id: str
    course_id: str
    course_title: str
    learner_name: str
    title: str
    description: str
    created_at: datetime


class QueuePublic(BaseModel):
    """What waits for you: submissions and custom proposals of learners in your scope, oldest first."""

    submissions: list[QueueSubmissionPublic]
    proposals: list[ProposalPublic]


class AuditPublic(BaseModel):
    action: str
    actor_id: str | None = Field(description="None: the Project Guide (the server).")
    actor_name: str | None
    from_state: str | None
    to_state: str
    at: datetime
    detail: dict[str, Any] | None


class ReviewDetailPublic(BaseModel):
    submission: SubmissionPublic
    learner_id: str
    learner_name: str
    project: ProjectPublic
    audit: list[AuditPublic]


class ReviewOutcomePublic(BaseModel):
    submission: SubmissionPublic
    percent: float | None
    issued: IssuedPublic | None = Field(description="The Gold certificate, when approved.")


class FileTextPublic(BaseModel):
    path: str
    size: int
    text: str = Field(description="UTF-8 (undecodable bytes replaced), at most 200,000 characters.")
    truncated: bool


class ReviewerGrant(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    reviewer: JsonBool = Field(description="true: grant the reviewer role; false: take it back (learner).")


class ReviewerPublic(BaseModel):
    user_id: str
    email: str
    role: str
    organization_id: str | None

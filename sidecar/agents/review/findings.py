"""What a review reports. Messages say what and why; questions lead to the fix; neither contains it."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("error", "correctness", "efficiency", "style")
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    line: int | None
    category: str  # "correctness" | "efficiency" | "style" | "error"
    severity: str  # "error" | "warning" | "info"
    message: str  # what and why, never the fixed code
    question: str  # a Socratic question that leads the learner to the fix
    rule: str  # "ruff:F841", "ast:range-len", "test:<name>", "syntax"


def sort_key(finding: Finding) -> tuple[int, int, int]:
    """Most urgent first: errors, then correctness, efficiency and style; then top to bottom."""
    return (SEVERITIES.index(finding.severity), CATEGORIES.index(finding.category), finding.line or 0)

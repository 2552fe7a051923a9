"""Spaced review: an FSRS-scheduled queue over the quiz items and exercises a learner met (issue #15)."""

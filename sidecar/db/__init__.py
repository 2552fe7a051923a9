"""Learner-state storage: SQLAlchemy 2 on SQLite (embedded default) or PostgreSQL (scale)."""

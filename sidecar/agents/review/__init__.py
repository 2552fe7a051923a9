"""The Code Reviewer's parts: findings, ast checks and the ruff bridge (public API: agents/review/reviewer.py)."""

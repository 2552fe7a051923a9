"""AI tutoring (§5): an orchestrator, six agents, retrieval and guardrails."""

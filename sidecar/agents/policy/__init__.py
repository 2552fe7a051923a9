"""What the tutor says: routing by lesson type and intent, the agents' offline policies, tone,
prompts and the model client."""

"""What the tutor remembers between turns: conversations, per-lesson state, skill estimates."""

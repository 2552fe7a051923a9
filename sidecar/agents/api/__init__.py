"""The tutor over HTTP: routes, API models, one turn end to end, streaming and the rate limit."""

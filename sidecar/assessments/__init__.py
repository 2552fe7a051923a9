"""Silver certificates (§9.2): the proctored assessment with four sections, each timed by the server."""

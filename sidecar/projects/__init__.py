"""Gold certificates (§9.3): project options and proposals, submissions, the Project Guide's pre-review and the
reviewer's decision."""

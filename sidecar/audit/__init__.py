"""The audit log (issue #16, §4.1): who changed what in an organisation, and when."""

"""Super admins' support views: read-only looks at an account, never an impersonation (issue 16)."""

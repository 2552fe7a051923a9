"""jobs (issue #17)"""

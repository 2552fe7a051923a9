"""reports (issue #17)"""

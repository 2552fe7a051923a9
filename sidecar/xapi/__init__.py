"""xapi (issue #17)"""

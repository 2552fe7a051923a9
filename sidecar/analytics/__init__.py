"""analytics (issue #17)"""

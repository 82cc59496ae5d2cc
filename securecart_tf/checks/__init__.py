"""Checks of a whole project.

References, quotas, policy lint, lockout, findings, suppressions and their output formats.
"""

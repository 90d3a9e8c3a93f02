"""Builds reproducible training folders from installable sources (see prepare.py)."""

"""Revisions of our tables, oldest first (Alembic finds them by file; this makes them package data)."""

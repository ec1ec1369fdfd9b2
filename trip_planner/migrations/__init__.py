"""Alembic's environment and revisions for our own tables (the `tp_` ones); ADK's tables are ADK's.

Nothing here is imported by the app at run time: `trip_planner.core.migrate` points Alembic at this
directory (no alembic.ini), and Alembic loads `env.py` and `versions/` from it.
"""

"""Operator tools: `trip-planner sessions` (list, show, end, forget, purge, stats).

One module per job: `when` (times in and out), `identities` (platform identities as id patterns),
`queries` (read-only views of the registry), `actions` (the verbs that change it, under the same
conversation locks as the bots), `render` (tables and JSON), `sessions_cli` (argparse and dispatch).
"""

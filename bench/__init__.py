"""Benchmarks: `make bench` runs every `bench/bench_*.py` and prints one table.

Each module exposes `async def run() -> list[Row]`. Rows report a ratio against a baseline measured
in the same run, because these machines are noisy; absolute numbers are for context only.
"""

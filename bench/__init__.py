"""Benchmarks: each scenario runs on our engine and, in the same run, as the same shape on
bare Temporal (no-op activities, no database, no SMTP), so every figure has a ratio beside it.

``python -m bench --help`` lists the scenarios; ``bench/README.md`` explains the columns.
"""

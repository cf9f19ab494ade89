"""Benchmarks: each scenario runs on our engine and, in the same run, as the same shape on bare
Temporal twice: calling our real activities (the mirror) and with no-op activities, no
database and no SMTP (bare), so every figure has two ratios beside it.

``python -m bench --help`` lists the scenarios; ``bench/README.md`` explains the columns.
"""

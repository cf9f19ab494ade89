"""The `ebok` command: one module per process, `main` puts them together."""

"""Fault injection: workers killed, the relay, the database and Temporal going away."""

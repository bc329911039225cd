"""Benchmarks: each prints absolute times and, as its last line, a JSON object with its ratio to a lower bound."""

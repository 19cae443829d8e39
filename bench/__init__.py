"""Benchmarks: each one a ratio to a baseline measured in the same run (``make bench``)."""

"""Benchmarks with recorded results (`make bench`); never timed tests. See bench/README.md."""

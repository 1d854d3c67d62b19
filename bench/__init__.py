"""Benchmarks and the benchmark data generator: run from a checkout (``.venv/bin/python bench/<script>.py``), never
installed with the application and never imported by app/ or services/."""

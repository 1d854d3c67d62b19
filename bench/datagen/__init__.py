"""The benchmark data generator (``bench/gen_data.py``): realistic volumes of people, enterprises and cases."""

from bench.datagen.generator import GENERATED_DOMAIN, GENERATED_SCOPE, Result, generate, total_work

__all__ = ["GENERATED_DOMAIN", "GENERATED_SCOPE", "Result", "generate", "total_work"]

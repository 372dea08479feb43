"""Seeded generators of the base registries (人口、法人、社会信用): pure ``seed -> pyarrow.Table``."""

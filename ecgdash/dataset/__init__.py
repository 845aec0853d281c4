"""Cohort exports for ML teams (``ecgdash dataset export|verify``): who is in the cohort, the local
engine, the Spark engine's driver side, the manifest and the review strips."""

"""The `patronage` command: the one root that depends on both the API and the pipeline."""

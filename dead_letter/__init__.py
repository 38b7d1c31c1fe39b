"""Dead-letter records: their format, their files (date=YYYY-MM-DD/<run_id>.ndjson) and the warehouse table that
holds them. Replaying them is the pipeline's (pipelines/replay.py)."""

"""Where the pipeline's data lives, below every package that reads or writes it.

`stores.warehouse`: the warehouse port and its DuckDB and PostgreSQL adapters. `stores.files`: landing and
dead-letter files in a local directory or in object storage. Nothing here imports another package of ours.
"""

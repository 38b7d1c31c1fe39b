"""The pipeline tests' warehouse fixtures (a warehouse on each engine over the test OLTP database), for the finance
marts built from real extracts."""

from tests.pipelines.conftest import warehouse_at, where

__all__ = ["warehouse_at", "where"]

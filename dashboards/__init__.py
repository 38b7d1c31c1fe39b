"""Static dashboards: panels defined as data (definitions.py), rendered offline from the marts (build.py)."""

"""Observability: Prometheus metrics (/metrics), request ids and JSON logs. See
docs/observability.md."""

"""REST endpoints for concurrency limits, included under /api/concurrency-limits/."""

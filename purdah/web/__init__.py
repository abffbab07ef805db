"""The HTTP service (FastAPI): feeds, the check/status API, health and the clerk's page."""

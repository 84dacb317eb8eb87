"""PNCP collection: the HTTP client, record parsing and validation, and the storage tasks."""

"""Data access used by the API, the CLI and the tasks: each function takes a Session."""

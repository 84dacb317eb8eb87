"""`nexora`, the operators' command line: `app.py` assembles one module per sub-app; `common.py` holds what they
share."""

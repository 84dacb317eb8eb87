"""The app database as the flows read and write it: documents, drafted fields, artifacts."""

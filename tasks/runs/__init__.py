"""The Prefect server seen from a run: reading other runs, publishing artifacts on a run's page."""

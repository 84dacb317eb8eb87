"""Operating the platform: the stack launcher, backup and restore, the demo, the Prefect server's limits and
automations."""

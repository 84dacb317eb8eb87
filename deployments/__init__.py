"""What starts flows: the thin API, the `serve` runner, the CLI and the list of deployments."""

"""`python -m deployments.cli …`, the same as `nexora …`."""

import sys

from deployments.cli.app import app

sys.exit(app())

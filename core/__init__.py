"""Cross-cutting pieces every layer uses: settings, logging with trace ids."""

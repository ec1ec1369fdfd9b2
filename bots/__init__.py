"""Platform adapters: they translate platform events into the core's calls, nothing more."""

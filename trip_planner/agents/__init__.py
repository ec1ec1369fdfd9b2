"""The concierge agent and its tools."""

"""The trip planner: a concierge agent and its specialists, platform-free."""

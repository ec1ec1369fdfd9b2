"""Stand-in servers on 127.0.0.1 speaking the real wire protocols (Slack, Discord, Opik, Gemini)."""

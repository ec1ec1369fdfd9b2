"""The platform-free core: durable conversations, the shared runner, tracing."""

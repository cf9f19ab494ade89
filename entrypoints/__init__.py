"""How the world reaches the engine: the `ebok` CLI, the webhooks, the codec server and the
dev servers. Each entry point calls the facade; none holds a rule of its own."""

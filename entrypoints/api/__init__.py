"""The HTTP API: backend services in any language drive the processes through the facade."""

"""The parts of :class:`ebok.client.EbokClient`, one module per process."""

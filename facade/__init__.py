"""The service layer: :class:`facade.client.EbokClient` and the operations every entry point
calls, one module per process. It uses adapters but does not build them: ``worker.py`` and
:func:`facade.wiring.facade_adapters` do."""

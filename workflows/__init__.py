"""Workflows, one module per process; the list the worker hosts is in ``catalogue``.

The sandbox runs each workflow's module afresh for every run, with every module it imports
that is not passed through. The helpers the processes share (``common``, ``mailed_link``,
``invoice_plan``, ``invoice_state``, ``ticket_watch``) hold no state at module level, only
constants and classes whose objects belong to one run, so the workflow modules pass them
through with the models: they are loaded once per worker, not once per run. The sandbox
no longer stands guard over them, so they keep to ``workflow.now()`` and the like as every
workflow does, and the replay tests over the stored histories check what they produce.
"""

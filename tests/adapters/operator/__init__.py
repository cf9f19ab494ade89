import pytest

# Plain asserts in the shipped contract suite should explain themselves when they fail; this
# package may be collected before (or without) the e-mail tests that register it too.
pytest.register_assert_rewrite("adapters.testing")

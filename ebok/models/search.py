"""Custom search attributes: what operators filter on in the Temporal UI. Never PII."""

from temporalio.common import SearchAttributeKey

EBOK_PROCESS = SearchAttributeKey.for_keyword("EbokProcess")
EBOK_STATUS = SearchAttributeKey.for_keyword("EbokStatus")
EBOK_DEADLINE = SearchAttributeKey.for_datetime("EbokDeadline")  # when the pending step lapses

EBOK_OUTCOME = SearchAttributeKey.for_keyword("EbokOutcome")  # how a finished process ended

ALL = (EBOK_PROCESS, EBOK_STATUS, EBOK_DEADLINE, EBOK_OUTCOME)

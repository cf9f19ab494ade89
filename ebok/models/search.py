"""Custom search attributes: what operators filter on in the Temporal UI. Never PII."""

from temporalio.common import SearchAttributeKey

EBOK_PROCESS = SearchAttributeKey.for_keyword("EbokProcess")
EBOK_STATUS = SearchAttributeKey.for_keyword("EbokStatus")
EBOK_DEADLINE = SearchAttributeKey.for_datetime("EbokDeadline")  # when the pending step lapses

EBOK_OUTCOME = SearchAttributeKey.for_keyword("EbokOutcome")  # how a finished process ended

# Business keys operators look things up by; numbers that identify no person on their own.
EBOK_PARTNER = SearchAttributeKey.for_keyword("EbokPartner")  # business partner number
EBOK_INVOICE = SearchAttributeKey.for_keyword("EbokInvoice")  # invoice number
EBOK_AMOUNT_DUE = SearchAttributeKey.for_int("EbokAmountDue")  # grosze still to pay
EBOK_INCIDENT = SearchAttributeKey.for_keyword("EbokIncident")  # the DSO's incident id
EBOK_AREA = SearchAttributeKey.for_keyword("EbokArea")  # the DSO's network area

ALL = (
    EBOK_PROCESS,
    EBOK_STATUS,
    EBOK_DEADLINE,
    EBOK_OUTCOME,
    EBOK_PARTNER,
    EBOK_INVOICE,
    EBOK_AMOUNT_DUE,
    EBOK_INCIDENT,
    EBOK_AREA,
)

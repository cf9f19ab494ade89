"""Partner linking end to end on the time-skipping server: real store (SQLite and PostgreSQL),
real SMTP, the sandbox grid operator (and the http adapter against a local DSO server)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.operator.base import ContractType, OperatorRejected
from adapters.operator.http import HttpOperator
from adapters.operator.sandbox import SandboxOperator
from ebok.errors import InvalidInput, NotFound, RateLimited
from ebok.models import linking as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, linking_workflow_id
from tests.adapters.operator.dso_server import DsoServer
from tests.conftest import worker_for
from tests.factories import a_partner, an_account
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome


async def final(env: WorkflowEnvironment, account_id: str) -> m.LinkingStatus:
    return await outcome(env, linking_workflow_id(account_id), m.LinkingStatus)


async def test_invoice_proof_confirmed_links_and_tells_the_customer(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, email = await an_account(store)
    operator = SandboxOperator(partner.registry)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        invoice, gross = partner.invoices[0]
        answer = await ebok.link_partner(
            account, partner.number, invoice_number=invoice, gross=gross
        )
        assert answer.outcome is m.Outcome.CHECKING
        done = await final(skipping_env, account)
    assert done.state is m.State.LINKED and done.ppes == partner.ppes
    async with store.begin() as uow:
        assert await uow.billing.partners_of_account(account) == [partner.number]
    (mail,) = addressed_to(await smtpd.wait_for(1), email)
    assert mail["Subject"] == f"Konto powiązane z numerem partnera {partner.number}"
    assert operator.calls == 1


async def test_ppe_proof_checks_every_ppe_of_the_partner(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store, n_ppes=2)
    account, _ = await an_account(store)
    operator = SandboxOperator(partner.registry)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        answer = await ebok.link_partner(account, partner.number, ppe=partner.ppes[1])
        assert answer.outcome is m.Outcome.CHECKING
        assert (await final(skipping_env, account)).state is m.State.LINKED
    assert operator.calls == 2


async def test_wrong_data_locks_out_for_24h_without_saying_what_was_wrong(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, _ = await an_account(store)
    invoice, gross = partner.invoices[0]
    wrong = [
        {"invoice_number": invoice, "gross": "1,00"},  # wrong amount
        {"invoice_number": "FV/1999/01/1", "gross": gross},  # wrong invoice
        {"ppe": "590380100001001378"},  # someone else's PPE
        {"invoice_number": invoice, "gross": gross, "partner": "1234567890"},  # wrong partner
    ]
    async with worker_for(skipping_env.client, settings, store, operator=SandboxOperator([])):
        answers = []
        for attempt in wrong:
            number = attempt.pop("partner", partner.number)
            answers.append(await ebok.link_partner(account, number, **attempt))
        assert [a.outcome for a in answers] == [m.Outcome.NO_MATCH] * 4
        assert [a.attempts_left for a in answers] == [4, 3, 2, 1]
        assert len({(a.outcome, a.retry_at) for a in answers}) == 1  # indistinguishable

        locked = await ebok.link_partner(
            account, partner.number, invoice_number=invoice, gross="2,00"
        )
        assert locked.outcome is m.Outcome.LOCKED and locked.retry_at is not None
        with pytest.raises(RateLimited) as refused:
            await ebok.link_partner(account, partner.number, invoice_number=invoice, gross=gross)
        assert refused.value.retry_at == locked.retry_at
        status = await ebok.linking_status(account)
        assert status.state is m.State.LOCKED and status.locked_until == locked.retry_at

        await skipping_env.sleep(settings.link_lockout + timedelta(minutes=1))
        assert (await ebok.linking_status(account)).state is m.State.WAITING_FOR_ATTEMPT
        again = await ebok.link_partner(
            account, partner.number, invoice_number=invoice, gross=gross
        )
        assert again.outcome is m.Outcome.CHECKING


async def test_comprehensive_contract_is_refused_with_an_actionable_reason(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store, ContractType.COMPREHENSIVE)
    account, email = await an_account(store)
    async with worker_for(
        skipping_env.client, settings, store, operator=SandboxOperator(partner.registry)
    ):
        await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
        done = await final(skipping_env, account)
    assert done.state is m.State.REJECTED
    assert done.refusal is m.Refusal.COMPREHENSIVE_CONTRACT
    (mail,) = addressed_to(await smtpd.wait_for(1), email)
    assert "umowę kompleksową" in body(mail) and partner.ppes[0] in body(mail)
    async with store.begin() as uow:
        assert await uow.billing.partners_of_account(account) == []


async def test_operator_outage_then_recovery(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, _ = await an_account(store)
    operator = SandboxOperator(partner.registry)
    operator.fail_next(4)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
        await skipping_env.sleep(timedelta(seconds=15))
        status = await ebok.linking_status(account)
        assert status.state is m.State.CHECKING_WITH_OPERATOR and status.ppes_answered == 0
        assert 2 <= operator.calls < 5  # backing off, not hammering
        done = await final(skipping_env, account)
    assert done.state is m.State.LINKED and done.ppes_answered == 1
    assert operator.calls == 5


async def test_no_answer_in_time_goes_to_staff_escalates_and_approve_links(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, email = await an_account(store)
    operator = SandboxOperator(partner.registry, failure_rate=1.0, seed=1)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
        await skipping_env.sleep(settings.link_operator_patience + timedelta(minutes=1))
        status = await ebok.linking_status(account)
        assert status.state is m.State.AWAITING_STAFF and status.waiting_since is not None
        assert 5 < operator.calls < 200  # back-off, not a busy loop

        await skipping_env.sleep(settings.link_staff_patience + timedelta(minutes=1))
        (escalation,) = addressed_to(await smtpd.wait_for(1), settings.backoffice_email)
        assert linking_workflow_id(account) in body(escalation)
        assert partner.pesel not in body(escalation)

        approved = await ebok.approve_link(account, "umowa potwierdzona telefonicznie", "anna.b")
        assert approved.state is m.State.AWAITING_STAFF  # the workflow moves on after this
        done = await final(skipping_env, account)
    assert done.state is m.State.LINKED and "anna.b" in done.detail
    assert addressed_to(await smtpd.wait_for(2), email)
    with pytest.raises(NotFound):  # finished: nothing left to decide
        await ebok.approve_link(account, "again", "anna.b")


async def test_operator_refusing_the_request_goes_to_staff_who_reject(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, email = await an_account(store)
    operator = SandboxOperator(partner.registry)
    operator.fail_next(1, OperatorRejected("bad request", status_code=400))
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
        await skipping_env.sleep(timedelta(seconds=5))
        assert (await ebok.linking_status(account)).state is m.State.AWAITING_STAFF
        await ebok.reject_link(account, "brak umowy w systemie OSD", "jan.k")
        done = await final(skipping_env, account)
    assert done.state is m.State.REJECTED and done.refusal is m.Refusal.STAFF
    (mail,) = addressed_to(await smtpd.wait_for(1), email)
    assert "brak umowy w systemie OSD" in body(mail)
    assert operator.calls == 1  # a refusal is not retried


async def test_partner_of_another_account_and_linking_twice(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    first, _ = await an_account(store)
    second, _ = await an_account(store)
    invoice, gross = partner.invoices[0]
    async with worker_for(
        skipping_env.client, settings, store, operator=SandboxOperator(partner.registry)
    ):
        await ebok.link_partner(first, partner.number, invoice_number=invoice, gross=gross)
        assert (await final(skipping_env, first)).state is m.State.LINKED
        await smtpd.wait_for(1)

        taken = await ebok.link_partner(second, partner.number, invoice_number=invoice, gross=gross)
        assert taken.outcome is m.Outcome.PARTNER_TAKEN and taken.attempts_left == 5

        again = await ebok.link_partner(first, partner.number, ppe=partner.ppes[0])
        assert again.outcome is m.Outcome.LINKED  # idempotent: no new check, no new mail
        assert (await final(skipping_env, first)).state is m.State.LINKED
    async with store.begin() as uow:
        assert await uow.billing.links_of_partner(partner.number) == [first]
    assert len(smtpd.messages) == 1


async def test_http_operator_against_a_local_dso_server(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, _ = await an_account(store)
    async with DsoServer(partner.registry, token="s3cret") as dso:
        dso.fail_next(2, status=503)
        http = HttpOperator.from_settings(
            settings.model_copy(
                update={"operator_url": dso.url, "operator_token": SecretStr("s3cret")}
            )
        )
        try:
            async with worker_for(skipping_env.client, settings, store, operator=http):
                await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
                done = await final(skipping_env, account)
        finally:
            await http.aclose()
    assert done.state is m.State.LINKED and len(dso.requests) == 3


BAD_LINKS: list[tuple[dict[str, Any], str]] = [
    ({"partner_number": "12345"}, "partner_number"),
    ({"partner_number": "12345678901"}, "partner_number"),
    ({"ppe": "590380100001001379"}, "ppe"),  # GS1 check digit wrong
    ({"invoice_number": "FV/1", "gross": None}, "input"),
    ({"invoice_number": None, "gross": "12,00", "ppe": None}, "input"),
    ({"gross": "12,345"}, "gross_grosze"),
    ({"gross": "-5,00"}, "gross_grosze"),
    ({"invoice_number": "FV\r\n1"}, "invoice_number"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_LINKS)
async def test_bad_link_input_names_the_field(
    skipping_env: WorkflowEnvironment,
    store: Store,
    ebok: EbokClient,
    bad: dict[str, Any],
    field: str,
) -> None:
    account, _ = await an_account(store)
    fields: dict[str, Any] = {
        "partner_number": "1000000101",
        "invoice_number": "FV/2026/11/000101",
        "gross": "245,67",
        "ppe": None,
    } | bad
    with pytest.raises(InvalidInput) as err:
        await ebok.link_partner(account, fields.pop("partner_number"), **fields)
    assert field in err.value.errors


async def test_staff_may_decide_while_the_operator_is_silent(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    partner = await a_partner(store)
    account, _ = await an_account(store)
    operator = SandboxOperator(partner.registry, failure_rate=1.0, seed=2)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.link_partner(account, partner.number, ppe=partner.ppes[0])
        await skipping_env.sleep(timedelta(hours=2))
        assert (await ebok.linking_status(account)).state is m.State.CHECKING_WITH_OPERATOR
        await ebok.approve_link(account, "contract seen on paper", "ewa.z")
        done = await final(skipping_env, account)
        calls = operator.calls
        await skipping_env.sleep(timedelta(hours=6))
    assert done.state is m.State.LINKED and "ewa.z" in done.detail
    assert operator.calls == calls  # the pending check was cancelled

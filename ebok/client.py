"""EbokClient: the typed facade backend services use to drive the processes.

It validates input (errors name the field; nothing is written on bad input), keeps personal
data and secrets in the store, and talks to workflows by update and query. Workflows see ids,
times and hashes only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import InvalidInput, LimitReached, NotFound, RateLimited, WrongState
from ebok.models import registration as m
from ebok.models.search import EBOK_PROCESS, EBOK_STATUS
from ebok.passwords import WeakPassword, check_strength, hash_password
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.tokens import hash_token
from ebok.temporal import connect

__all__ = ["EbokClient", "Registered"]

_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class Registered(BaseModel):
    """The answer to step 1: the same for a new address and for one that has an account."""

    registration_id: str


def registration_workflow_id(registration_id: str) -> str:
    return m.ID_PREFIX + registration_id


def _validate(model: type[BaseModel], **fields: Any) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        raise InvalidInput.from_validation(e) from None


class EbokClient:
    def __init__(self, client: Client, store: Store, settings: Settings) -> None:
        self.temporal, self.store, self.settings = client, store, settings

    @classmethod
    async def connect(cls, settings: Settings) -> Self:
        return cls(await connect(settings), Store.from_url(settings.database_url), settings)

    async def aclose(self) -> None:
        await self.store.aclose()

    # --- registration ---------------------------------------------------------------------------

    async def register(self, email: str, login: str, language: str = "pl") -> Registered:
        """Step 1. A taken login is refused (the customer must pick another); an address that
        already has an account is answered like a new one and its owner is told by mail."""
        sign_up: m.SignUp = _validate(m.SignUp, email=email, login=login, language=language)
        registration_id = secrets.token_hex(16)
        async with self.store.begin() as uow:
            if await uow.accounts.by_login(sign_up.login) is not None:
                raise InvalidInput.one("login", "is not available; choose another")
            await uow.registrations.add(
                registration_id,
                sign_up.email,
                sign_up.login,
                sign_up.language,
                m.Status.AWAITING_PASSWORD.value,
                datetime.now(UTC),
            )
        try:
            await self.temporal.start_workflow(
                m.WORKFLOW_TYPE,
                self._registration_input(registration_id),
                id=registration_workflow_id(registration_id),
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                execution_timeout=self.settings.execution_timeout,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(EBOK_PROCESS, "registration"),
                        SearchAttributePair(EBOK_STATUS, m.Status.AWAITING_PASSWORD.value),
                    ]
                ),
            )
        except BaseException:
            async with self.store.begin() as uow:
                await uow.registrations.delete(registration_id)
            raise
        return Registered(registration_id=registration_id)

    async def set_credentials(
        self, registration_id: str, password: str, terms_version: str, terms_accepted: bool
    ) -> m.ActivationPending:
        """Step 2: the password is hashed here and stored; the workflow gets the terms version."""
        creds: m.Credentials = _validate(
            m.Credentials,
            password=password,
            terms_version=terms_version,
            terms_accepted=terms_accepted,
        )
        if creds.terms_version != self.settings.terms_version:
            raise InvalidInput.one(
                "terms_version", f"is not the version in force ({self.settings.terms_version})"
            )
        async with self.store.begin() as uow:
            reg = await uow.registrations.get(_checked_id(registration_id))
        if reg is None or reg.email is None or reg.login is None:
            raise NotFound("no such registration")
        secret = creds.password.get_secret_value()
        try:
            check_strength(secret, login=reg.login, email=reg.email)
        except WeakPassword as e:
            raise InvalidInput.one("password", str(e)) from None
        password_hash = await hash_password(secret)
        async with self.store.begin() as uow:
            stored = await uow.registrations.set_credentials(
                reg.id,
                password_hash,
                creds.terms_version,
                datetime.now(UTC),
                when_status=m.Status.AWAITING_PASSWORD.value,
            )
        if not stored:
            raise WrongState("registration is not waiting for step 2")
        try:
            pending: m.ActivationPending = await self._update(
                reg.id, "credentials_set", m.CredentialsSet(terms_version=creds.terms_version)
            )
            return pending
        except BaseException:
            async with self.store.begin() as uow:
                await uow.registrations.clear_credentials(reg.id)
            raise

    async def activate(self, token: str) -> m.ActivationOutcome:
        """Follow an activation link. Anything unknown, malformed or replaced is ``invalid``."""
        if not (20 <= len(token) <= 128) or not set(token) <= _TOKEN_ALPHABET:
            return m.ActivationOutcome.INVALID
        token_hash = hash_token(token)
        async with self.store.begin() as uow:
            registration_id = await uow.tokens.subject_of("activation", token_hash)
        if registration_id is None:
            return m.ActivationOutcome.INVALID
        try:
            answer: m.ActivationAnswer = await self._update(
                registration_id, "activate", m.Activate(token_hash=token_hash)
            )
        except NotFound:
            # The workflow has finished (activated long ago, or expired and purged).
            async with self.store.begin() as uow:
                state = await uow.tokens.state_of("activation", token_hash, datetime.now(UTC))
            return {
                "already_used": m.ActivationOutcome.ALREADY_USED,
                "expired": m.ActivationOutcome.EXPIRED,
            }.get(state.state.value, m.ActivationOutcome.INVALID)
        return answer.outcome

    async def resend(
        self, registration_id: str, requested_by: str = "customer"
    ) -> m.ActivationPending:
        req = _validate(m.Resend, requested_by=requested_by)
        return await self._update(_checked_id(registration_id), "resend", req)  # type: ignore[no-any-return]

    async def cancel(self, registration_id: str, reason: str = "") -> m.RegistrationStatus:
        req = _validate(m.Cancel, reason=reason)
        return await self._update(_checked_id(registration_id), "cancel", req)  # type: ignore[no-any-return]

    async def registration_status(self, registration_id: str) -> m.RegistrationStatus:
        handle = self._registration(_checked_id(registration_id))
        try:
            status: m.RegistrationStatus = await handle.query(
                "status", result_type=m.RegistrationStatus
            )
            return status
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound("no such registration") from None
            raise

    # --- plumbing -------------------------------------------------------------------------------

    def _registration_input(self, registration_id: str) -> m.RegistrationInput:
        s = self.settings
        return m.RegistrationInput(
            registration_id=registration_id,
            password_timeout=s.registration_password_timeout,
            activation_ttl=s.activation_ttl,
            resend_cooldown=s.resend_cooldown,
            resend_limit=s.resend_limit,
            purge_grace=s.purge_grace,
        )

    def _registration(self, registration_id: str) -> WorkflowHandle[Any, Any]:
        return self.temporal.get_workflow_handle(registration_workflow_id(registration_id))

    async def _update(self, registration_id: str, update: str, arg: BaseModel) -> Any:
        result_type = {
            "credentials_set": m.ActivationPending,
            "resend": m.ActivationPending,
            "activate": m.ActivationAnswer,
            "cancel": m.RegistrationStatus,
        }[update]
        handle = self._registration(registration_id)
        try:
            return await handle.execute_update(update, arg, result_type=result_type)
        except WorkflowUpdateFailedError as e:
            raise _translate(e.cause) from None
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound("no such registration, or it has finished") from None
            raise


_REGISTRATION_ID: TypeAdapter[str] = TypeAdapter(m.RegistrationId)


def _checked_id(registration_id: str) -> str:
    try:
        _REGISTRATION_ID.validate_python(registration_id)
    except ValidationError:
        raise InvalidInput.one("registration_id", "is not a registration id") from None
    return registration_id


def _translate(cause: BaseException | None) -> Exception:
    """An update's ApplicationError → the facade's exception of the same meaning."""
    if not isinstance(cause, ApplicationError):
        return WrongState(str(cause))
    if cause.type == "RateLimited":
        return RateLimited(cause.message, datetime.fromisoformat(str(cause.details[0])))
    if cause.type == "ResendLimit":
        return LimitReached(cause.message)
    return WrongState(cause.message)

"""Registration through the facade: steps 1 and 2, activation, resend, cancel, status."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, TypeAdapter
from temporalio.common import WorkflowIDReusePolicy

from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.models import registration as m
from ebok.passwords import WeakPassword, check_strength, hash_password
from ebok.store.tokens import TokenState
from facade.base import FacadeBase, checked, validate
from facade.links import follow, state_after_close

__all__ = ["Registered", "RegistrationFacade", "registration_workflow_id"]


class Registered(BaseModel):
    """The answer to step 1: the same for a new address and for one that has an account."""

    registration_id: str


def registration_workflow_id(registration_id: str) -> str:
    return m.ID_PREFIX + registration_id


class RegistrationFacade(FacadeBase):
    # --- registration ---------------------------------------------------------------------------

    async def register(self, email: str, login: str, language: str = "pl") -> Registered:
        """Step 1. A taken login is refused (the customer must pick another); an address that
        already has an account is answered like a new one and its owner is told by mail."""
        sign_up: m.SignUp = validate(m.SignUp, email=email, login=login, language=language)
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
            await self._start(
                m.WORKFLOW_TYPE,
                self._registration_input(registration_id),
                registration_workflow_id(registration_id),
                "registration",
                m.Status.AWAITING_PASSWORD.value,
                reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
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
        creds: m.Credentials = validate(
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
            return await self._update(
                registration_workflow_id(reg.id),
                "credentials_set",
                m.CredentialsSet(terms_version=creds.terms_version),
                m.ActivationPending,
            )
        except BaseException:
            async with self.store.begin() as uow:
                await uow.registrations.clear_credentials(reg.id)
            raise

    async def activate(self, token: str) -> m.ActivationOutcome:
        """Follow an activation link. Anything unknown, malformed or replaced is ``invalid``."""
        link = await follow(self.store, "activation", token)
        if link is None:
            return m.ActivationOutcome.INVALID
        try:
            answer = await self._update(
                registration_workflow_id(link.subject_id),
                "activate",
                m.Activate(token_hash=link.token_hash),
                m.ActivationAnswer,
            )
        except NotFound:
            # The workflow has finished (activated long ago, or expired and purged).
            state = await state_after_close(self.store, "activation", link.token_hash)
            return {
                TokenState.ALREADY_USED: m.ActivationOutcome.ALREADY_USED,
                TokenState.EXPIRED: m.ActivationOutcome.EXPIRED,
            }.get(state, m.ActivationOutcome.INVALID)
        return answer.outcome

    async def resend(
        self, registration_id: str, requested_by: str = "customer"
    ) -> m.ActivationPending:
        req = validate(m.Resend, requested_by=requested_by)
        return await self._update(_workflow_id(registration_id), "resend", req, m.ActivationPending)

    async def cancel(self, registration_id: str, reason: str = "") -> m.RegistrationStatus:
        req = validate(m.Cancel, reason=reason)
        return await self._update(
            _workflow_id(registration_id), "cancel", req, m.RegistrationStatus
        )

    async def registration_status(self, registration_id: str) -> m.RegistrationStatus:
        return await self._query(_workflow_id(registration_id), "status", m.RegistrationStatus)

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


_REGISTRATION_ID: TypeAdapter[str] = TypeAdapter(m.RegistrationId)


def _checked_id(registration_id: str) -> str:
    return checked(_REGISTRATION_ID, "registration_id", registration_id)


def _workflow_id(registration_id: str) -> str:
    return registration_workflow_id(_checked_id(registration_id))

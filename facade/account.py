"""The customer account: sign-in (checked here, throttled in the store) and password reset
(a workflow that mails a single-use link).

Sign-in never touches Temporal. An unknown login and a wrong password get one answer, after
the same work: the password is checked against a hash made with today's parameters either
way (the account's, or a dummy one), and the failure is counted alike, per account or per
unknown login. Throttling follows ``ebok/sign_in_rules.py``.

A password reset asked for an address without an account is answered like any other and
sends nothing: a mail to an address of someone's choosing would let anyone send our mail to
anyone. The new password is checked like at registration and hashed here; the workflow learns
only that the link was used.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import EmailStr, TypeAdapter
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from ebok.errors import InvalidInput, LimitReached, NotFound, RateLimited, WrongState
from ebok.models import password_reset as m
from ebok.models.links import Resend
from ebok.models.registration import PASSWORD_MAX, PASSWORD_MIN, RegistrationId
from ebok.models.sign_in import SignIn, SignInAnswer, SignInOutcome
from ebok.passwords import (
    WeakPassword,
    check_strength,
    hash_password,
    needs_rehash,
    verify_password_async,
)
from ebok.sign_in_rules import ThrottleRules, blocked_until, client_network, ip_window_start
from ebok.store.accounts import email_key
from ebok.store.tokens import TokenState
from facade.base import FacadeBase, checked, validate
from facade.links import follow, state_after_close

__all__ = ["AccountFacade", "password_reset_workflow_id"]

log = logging.getLogger(__name__)

_ACCOUNT: TypeAdapter[str] = TypeAdapter(RegistrationId)
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)
# How long a request waits for the previous cycle's run to send its last mail and close.
_CLOSING_PATIENCE = 30.0
# How long a sign-in that locked the account waits for Temporal to take the lock mail's
# signal; past it the sign-in is answered and the next failure tries again.
_LOCK_MAIL_PATIENCE = timedelta(seconds=5)


def password_reset_workflow_id(account_id: str) -> str:
    return m.ID_PREFIX + checked(_ACCOUNT, "account_id", account_id)


def _new_password(password: str) -> str:
    """Registration's length rule (step 2), for a new password; the strength check follows."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput.one(
            "password", f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long"
        )
    return password


class AccountFacade(FacadeBase):
    _dummy_hash: str | None = None  # made at the first sign-in of an unknown login

    # --- sign-in --------------------------------------------------------------------------------

    async def sign_in(self, login_or_email: str, password: str, client_ip: str) -> SignInAnswer:
        """Check a login (or the account's address) and password. ``signed_in`` with the
        account id, its credential generation (keep it in the session; see
        :meth:`session_valid`) and whether it is linked to a partner; ``refused`` for an
        unknown login or a wrong password alike; ``throttled`` with ``retry_at`` after too
        many failures of the account or of the client's address."""
        req: SignIn = validate(
            SignIn, login_or_email=login_or_email, password=password, client_ip=client_ip
        )
        try:
            network = client_network(req.client_ip)
        except ValueError:
            raise InvalidInput.one("client_ip", "is not an IPv4 or IPv6 address") from None
        rules, now = self._throttle_rules(), datetime.now(UTC)
        window = ip_window_start(now, rules.ip_window)
        ip_key = self._keyed("sign-in-ip", network)
        async with self.store.begin() as uow:
            ip_until = await uow.sign_in.ip_blocked_until(ip_key, window, rules)
            creds = await uow.accounts.credentials(req.login_or_email)
            subject = creds.account_id if creds else "?" + self._unknown_key(req.login_or_email)
            until = blocked_until(await uow.sign_in.throttle(subject), now)
        if ip_until is not None or until is not None:
            async with self.store.begin() as uow:
                await uow.sign_in.count_refusal(ip_key, window, now)
            retry_at = max(t for t in (ip_until, until) if t is not None)
            return SignInAnswer(outcome=SignInOutcome.THROTTLED, retry_at=retry_at)
        secret = req.password.get_secret_value()
        stored = creds.password_hash if creds else await self._dummy()
        if creds is not None and await verify_password_async(stored, secret):
            rehashed = await hash_password(secret) if needs_rehash(stored) else None
            async with self.store.begin() as uow:
                if rehashed is not None:
                    await uow.sign_in.rehash(creds.account_id, stored, rehashed)
                await uow.sign_in.forget_failures(subject)
                linked = bool(await uow.billing.partners_of_account(creds.account_id))
            await self.after_sign_in(creds.account_id)
            return SignInAnswer(
                outcome=SignInOutcome.SIGNED_IN,
                account_id=creds.account_id,
                generation=creds.generation,
                linked=linked,
            )
        if creds is None:
            await verify_password_async(stored, secret)  # the same work as a wrong password
        async with self.store.begin() as uow:
            failure = await uow.sign_in.record_failure(subject, ip_key, window, now, rules)
        if failure.locked_now and creds is not None:
            await self._mail_lock(creds.account_id)
        if failure.blocked_until is not None:
            return SignInAnswer(outcome=SignInOutcome.THROTTLED, retry_at=failure.blocked_until)
        return SignInAnswer(outcome=SignInOutcome.REFUSED)

    async def after_sign_in(self, account_id: str) -> None:
        """Called once after every successful sign-in, before its answer: the one place where
        other processes react to a sign-in (signing in cancels a pending account deletion).

        A process that needs it overrides this in its facade class, calls
        ``await super().after_sign_in(account_id)``, and is listed before ``AccountFacade``
        among ``EbokClient``'s bases. It should be quick and must not raise for a reason of
        its own: the customer has signed in either way."""

    async def session_valid(self, account_id: str, generation: int) -> bool:
        """Is a session opened with this credential generation still valid? False after a
        password change or reset (the generation went up), and for an unknown account."""
        account = checked(_ACCOUNT, "account_id", account_id)
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
            raise InvalidInput.one("generation", "must be a whole number of at least 1")
        async with self.store.begin() as uow:
            current = await uow.sign_in.generation(account)
        return current == generation

    # --- password reset -------------------------------------------------------------------------

    async def request_password_reset(self, email: str) -> None:
        """Mail a reset link to the account of this address. The same answer (none) whether
        or not there is one, and whether or not a link went out just now (cooldown, cap)."""
        address = _checked_email(email)
        async with self.store.begin() as uow:
            account = await uow.accounts.by_email(address)
        if account is None or account.status != "active":
            return
        try:
            await self._request_reset(account.id, "customer")
        except (RateLimited, LimitReached):
            pass  # a link went out moments ago; the customer has that one

    async def start_password_reset(self, account_id: str) -> m.ResetPending:
        """Staff: mail the account a reset link now (RateLimited within the cooldown)."""
        account = checked(_ACCOUNT, "account_id", account_id)
        async with self.store.begin() as uow:
            if await uow.accounts.get(account) is None:
                raise NotFound("no such account")
        return await self._request_reset(account, "staff")

    async def resend_password_reset(
        self, account_id: str, requested_by: str = "customer"
    ) -> m.ResetPending:
        req = validate(Resend, requested_by=requested_by)
        return await self._update(
            password_reset_workflow_id(account_id), "resend", req, m.ResetPending
        )

    async def confirm_password_reset(self, token: str, password: str) -> m.ResetOutcome:
        """Follow a reset link with the new password. The password is checked like at
        registration (InvalidInput naming ``password``; the link stays usable); anything
        unknown, malformed or replaced is ``invalid``."""
        secret = _new_password(password)
        link = await follow(self.store, m.LINK_PURPOSE, token)
        if link is None:
            return m.ResetOutcome.INVALID
        async with self.store.begin() as uow:
            reset = await uow.sign_in.reset(link.subject_id)
            account = await uow.accounts.get(reset.account_id) if reset else None
        if reset is None or account is None:
            return m.ResetOutcome.INVALID
        try:
            check_strength(secret, login=account.login, email=account.email)
        except WeakPassword as e:
            raise InvalidInput.one("password", str(e)) from None
        redemption_id = secrets.token_hex(16)
        async with self.store.begin() as uow:
            await uow.sign_in.stage_hash(
                redemption_id, reset.id, await hash_password(secret), datetime.now(UTC)
            )
        outcome = m.ResetOutcome.INVALID
        try:
            outcome = await self._redeem(
                reset.account_id, m.Redeem(token_hash=link.token_hash, redemption_id=redemption_id)
            )
        finally:
            if outcome is not m.ResetOutcome.CHANGED:
                async with self.store.begin() as uow:
                    await uow.sign_in.drop_staged(reset.id, redemption_id)
        return outcome

    async def password_reset_status(self, account_id: str) -> m.PasswordResetStatus:
        return await self._query(
            password_reset_workflow_id(account_id), "status", m.PasswordResetStatus
        )

    # --- plumbing -------------------------------------------------------------------------------

    async def _redeem(self, account_id: str, req: m.Redeem) -> m.ResetOutcome:
        workflow_id = password_reset_workflow_id(account_id)
        try:
            answer = await self._update(workflow_id, "redeem", req, m.RedeemAnswer)
        except NotFound:  # that cycle has closed
            closed_at = await self._closed_at(workflow_id)
            state = await state_after_close(self.store, m.LINK_PURPOSE, req.token_hash, closed_at)
            return _AFTER_CLOSE.get(state, m.ResetOutcome.INVALID)
        return answer.outcome

    async def _closed_at(self, workflow_id: str) -> datetime | None:
        try:
            return (await self.temporal.get_workflow_handle(workflow_id).describe()).close_time
        except Exception:  # past the namespace's retention, or never there
            return None

    async def _request_reset(self, account_id: str, reason: m.Reason) -> m.ResetPending:
        workflow_id = password_reset_workflow_id(account_id)
        try:
            return await self._request_cycle(account_id, workflow_id, reason)
        except WrongState:
            if not await self._closing(workflow_id):
                raise
        return await self._request_cycle(account_id, workflow_id, reason)  # a new cycle

    async def _request_cycle(
        self, account_id: str, workflow_id: str, reason: m.Reason
    ) -> m.ResetPending:
        """The ``request`` update to the open cycle, or to a new one started with it."""
        return await self._update_with_start(
            m.WORKFLOW_TYPE,
            self._reset_input(account_id),
            workflow_id,
            "password_reset",
            m.State.NEW.value,
            "request",
            m.Request(reason=reason),
            m.ResetPending,
        )

    def _reset_input(self, account_id: str) -> m.PasswordResetInput:
        s = self.settings
        return m.PasswordResetInput(
            account_id=account_id,
            reset_id=secrets.token_hex(16),  # used only if this starts a new run
            link_ttl=s.password_reset_ttl,
            resend_cooldown=s.password_reset_resend_cooldown,
            resend_limit=s.password_reset_resend_limit,
        )

    async def _closing(self, workflow_id: str) -> bool:
        """True once the run refusing a request (it is finishing: changed or expired, its
        last mail under way) has closed, so a new cycle may start."""
        status = await self._query(workflow_id, "status", m.PasswordResetStatus)
        if status.state not in m.FINISHED:
            return False
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            await asyncio.wait_for(handle.result(), _CLOSING_PATIENCE)
        except WorkflowFailureError:
            pass  # closed all the same
        return True

    async def _mail_lock(self, account_id: str) -> None:
        """The account was just locked: one mail with a reset link, by a signal (with start)
        that waits for no worker. A link already out is that mail. If Temporal cannot take
        the signal, the next failure tries again."""
        try:
            await self.temporal.start_workflow(
                m.WORKFLOW_TYPE,
                self._reset_input(account_id),
                id=password_reset_workflow_id(account_id),
                start_signal="locked",
                start_signal_args=[m.Locked()],
                rpc_timeout=_LOCK_MAIL_PATIENCE,
                **self._start_options(
                    "password_reset",
                    m.State.NEW.value,
                    WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    WorkflowIDConflictPolicy.USE_EXISTING,
                    (),
                ),
            )
        except Exception:
            log.exception("could not order the lock mail of account %s", account_id)
            async with self.store.begin() as uow:
                await uow.sign_in.release_lock_mail(account_id)

    async def _dummy(self) -> str:
        """A hash of a random password, made with today's parameters, for unknown logins."""
        if self._dummy_hash is None:
            self._dummy_hash = await hash_password(secrets.token_urlsafe(24))
        return self._dummy_hash

    def _keyed(self, kind: str, value: str) -> str:
        """A keyed hash: the store counts by it and never keeps the login or address."""
        message = f"{kind}\x00{value}".encode()
        return hmac.new(self.settings.token_key_bytes, message, hashlib.sha256).hexdigest()

    def _unknown_key(self, login_or_email: str) -> str:
        value = login_or_email.strip().lower()
        normal = email_key(value) if "@" in value else value
        return self._keyed("sign-in-subject", normal)[:39]

    def _throttle_rules(self) -> ThrottleRules:
        s = self.settings
        return ThrottleRules(
            lock_after=s.sign_in_lock_after,
            first_delay=s.sign_in_first_delay,
            max_delay=s.sign_in_max_delay,
            ip_limit=s.sign_in_ip_limit,
            ip_window=s.sign_in_ip_window,
        )


def _checked_email(email: str) -> str:
    if not isinstance(email, str) or any(ord(c) < 32 or ord(c) == 127 for c in email):
        raise InvalidInput.one("email", "must not contain control characters (CR, LF, NUL, ...)")
    return checked(_EMAIL, "email", email)


_AFTER_CLOSE = {
    TokenState.ALREADY_USED: m.ResetOutcome.ALREADY_USED,
    TokenState.EXPIRED: m.ResetOutcome.EXPIRED,
}

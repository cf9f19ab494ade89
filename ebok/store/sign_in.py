"""Sign-in throttling and password resets in the store.

Throttling applies the pure rules of ``ebok/sign_in_rules.py`` under the row's lock: a failure
is first counted by one upsert (which takes the lock, on SQLite the file's writer lock), and
the block it earns is written by the same transaction, so rival failures of one account are
counted one after the other and exactly one of them is "the lock" that mails the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.sign_in_rules import Throttle, ThrottleRules, after_failure, blocked_until
from ebok.store.dialect import insert_for
from ebok.store.tables import accounts as acc
from ebok.store.tables import password_reset_hashes as ph
from ebok.store.tables import password_resets as pr
from ebok.store.tables import sign_in_ip_failures as ip
from ebok.store.tables import sign_in_throttle as th

__all__ = ["QUIET_RUN_FORGOTTEN", "Failure", "PasswordReset", "SignInRepository"]

# A run of failed sign-ins that has blocked nothing for this long is forgotten.
QUIET_RUN_FORGOTTEN = timedelta(days=1)


@dataclass(frozen=True)
class Failure:
    blocked_until: datetime | None  # sign-in refused until then (None: may try again now)
    locked_now: bool  # this failure began the block: mail the owner (once per run)


@dataclass(frozen=True)
class PasswordReset:
    id: str
    account_id: str
    reason: str
    requested_at: datetime
    changed_at: datetime | None


class SignInRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- throttling -----------------------------------------------------------------------------

    async def throttle(self, subject_key: str) -> Throttle:
        row = (
            await self._conn.execute(
                select(th.c.failures, th.c.blocked_until, th.c.lock_mailed).where(
                    th.c.subject_key == subject_key
                )
            )
        ).one_or_none()
        if row is None:
            return Throttle()
        return Throttle(row.failures, row.blocked_until, bool(row.lock_mailed))

    async def ip_blocked_until(
        self, ip_key: str, window_start: datetime, rules: ThrottleRules
    ) -> datetime | None:
        """The end of the window if the address has used up its failures in it."""
        failures = (
            await self._conn.execute(
                select(ip.c.failures).where(
                    ip.c.ip_key == ip_key, ip.c.window_start == window_start
                )
            )
        ).scalar_one_or_none()
        if failures is not None and failures >= rules.ip_limit:
            return window_start + rules.ip_window
        return None

    async def record_failure(
        self,
        subject_key: str,
        ip_key: str,
        window_start: datetime,
        now: datetime,
        rules: ThrottleRules,
    ) -> Failure:
        """Count a failure against the subject and the address; the subject's new block."""
        ins = insert_for(self._conn)(th).values(
            subject_key=subject_key, failures=1, lock_mailed=False, last_failure_at=now
        )
        counted = (
            await self._conn.execute(
                ins.on_conflict_do_update(
                    index_elements=[th.c.subject_key],
                    set_={"failures": th.c.failures + 1, "last_failure_at": now},
                ).returning(th.c.failures, th.c.lock_mailed)
            )
        ).one()
        before = Throttle(counted.failures - 1, None, bool(counted.lock_mailed))
        state, locked_now = after_failure(rules, before, now)
        if state.blocked_until is not None:
            await self._conn.execute(
                update(th)
                .where(th.c.subject_key == subject_key)
                .values(blocked_until=state.blocked_until, lock_mailed=state.lock_mailed)
            )
        await self._count_ip(ip_key, window_start, now)
        return Failure(blocked_until(state, now), locked_now)

    async def count_refusal(self, ip_key: str, window_start: datetime, now: datetime) -> None:
        """A refusal without a password check (blocked) still counts against the address."""
        await self._count_ip(ip_key, window_start, now)

    async def _count_ip(self, ip_key: str, window_start: datetime, now: datetime) -> None:
        ins = insert_for(self._conn)(ip).values(
            ip_key=ip_key, window_start=window_start, failures=1
        )
        same_window = ip.c.window_start == window_start
        counted = await self._conn.execute(
            ins.on_conflict_do_update(
                index_elements=[ip.c.ip_key],
                set_={
                    "failures": case((same_window, ip.c.failures + 1), else_=1),
                    "window_start": window_start,
                },
            ).returning(ip.c.failures)
        )
        if counted.scalar_one() == 1:
            # An address's first failure of a window: the time to forget what has lapsed
            # (storage limitation), without a job of its own.
            await self.purge(window_start, now)

    async def forget_failures(self, subject_key: str) -> None:
        """A success, or a new password: the run of failures ends and the lock with it."""
        await self._conn.execute(delete(th).where(th.c.subject_key == subject_key))

    async def release_lock_mail(self, subject_key: str) -> None:
        """The lock mail could not be ordered: let the next failure try again."""
        await self._conn.execute(
            update(th).where(th.c.subject_key == subject_key).values(lock_mailed=False)
        )

    async def purge(self, window_start: datetime, now: datetime) -> None:
        """Forget the counts of windows that have ended, and runs of failures that have been
        quiet for a day and block nothing now."""
        await self._conn.execute(delete(ip).where(ip.c.window_start < window_start))
        await self._conn.execute(
            delete(th).where(
                th.c.last_failure_at < now - QUIET_RUN_FORGOTTEN,
                or_(th.c.blocked_until.is_(None), th.c.blocked_until <= now),
            )
        )

    # --- credentials ----------------------------------------------------------------------------

    async def generation(self, account_id: str) -> int | None:
        """The account's credential generation; None if there is no active account."""
        found = await self._conn.execute(
            select(acc.c.credential_generation).where(
                acc.c.id == account_id, acc.c.status == "active"
            )
        )
        value = found.scalar_one_or_none()
        return int(value) if value is not None else None

    async def rehash(self, account_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace a hash made with older parameters, unless the password changed meanwhile.
        The generation stays: it is the same password, so sessions go on."""
        done = await self._conn.execute(
            update(acc)
            .where(acc.c.id == account_id, acc.c.password_hash == old_hash)
            .values(password_hash=new_hash)
        )
        return bool(done.rowcount)

    async def set_password(self, account_id: str, new_hash: str) -> int:
        """A new password: the generation goes up (every session ends); the new generation."""
        new = (
            await self._conn.execute(
                update(acc)
                .where(acc.c.id == account_id)
                .values(
                    password_hash=new_hash,
                    credential_generation=acc.c.credential_generation + 1,
                )
                .returning(acc.c.credential_generation)
            )
        ).scalar_one()
        await self.forget_failures(account_id)
        return int(new)

    # --- password resets ------------------------------------------------------------------------

    async def add_reset(
        self, reset_id: str, account_id: str, reason: str, requested_at: datetime
    ) -> None:
        """Record a reset cycle once (a retried activity changes nothing)."""
        await self._conn.execute(
            insert_for(self._conn)(pr)
            .values(id=reset_id, account_id=account_id, reason=reason, requested_at=requested_at)
            .on_conflict_do_nothing(index_elements=[pr.c.id])
        )

    async def reset(self, reset_id: str) -> PasswordReset | None:
        row = (
            (await self._conn.execute(select(pr).where(pr.c.id == reset_id)))
            .mappings()
            .one_or_none()
        )
        return PasswordReset(**row) if row else None

    async def stage_hash(
        self, redemption_id: str, reset_id: str, password_hash: str, at: datetime
    ) -> None:
        """Keep the new password's hash for the redemption that will use the link."""
        await self._conn.execute(
            insert_for(self._conn)(ph)
            .values(
                redemption_id=redemption_id,
                reset_id=reset_id,
                password_hash=password_hash,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=[ph.c.redemption_id])
        )

    async def staged_hash(self, redemption_id: str, reset_id: str) -> str | None:
        found = await self._conn.execute(
            select(ph.c.password_hash).where(
                ph.c.redemption_id == redemption_id, ph.c.reset_id == reset_id
            )
        )
        value: str | None = found.scalar_one_or_none()
        return value

    async def drop_staged(self, reset_id: str, redemption_id: str | None = None) -> None:
        """Forget staged hashes: one redemption's, or all of the reset's."""
        query = delete(ph).where(ph.c.reset_id == reset_id)
        if redemption_id is not None:
            query = query.where(ph.c.redemption_id == redemption_id)
        await self._conn.execute(query)

    async def mark_changed(self, reset_id: str, at: datetime) -> None:
        await self._conn.execute(
            update(pr).where(pr.c.id == reset_id, pr.c.changed_at.is_(None)).values(changed_at=at)
        )

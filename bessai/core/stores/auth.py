"""Users, roles and sessions for the operator app and the command API.

Roles: viewer (read only), operator (modes and setpoints within limits),
engineer (limits, E-stop reset, commissioning writes, profiles), admin
(users). A credential is a PIN of at least 6 digits (touch screen) or a
password of at least 10 characters, hashed with Argon2id; it is never
logged nor stored in clear. Five failures lock the account for a time that
doubles with each lockout; sessions expire when idle. There is no default
user: the first admin is created at first start or with ``bessai users add``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bessai.core.stores.database import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role INTEGER NOT NULL,
    hash TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    lockouts INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
"""

_NAME = re.compile(r"^[a-z][a-z0-9_.\-]{1,31}$")


class Role(IntEnum):
    VIEWER = 0
    OPERATOR = 1
    ENGINEER = 2
    ADMIN = 3


class Permission(IntEnum):
    """The least role for each kind of action."""

    VIEW = Role.VIEWER
    CONTROL = Role.OPERATOR
    ENGINEER = Role.ENGINEER
    ADMIN = Role.ADMIN


class AuthError(Exception):
    """A refused login or user change; ``code`` is stable, the text is for people."""

    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


@dataclass
class Session:
    token: str
    user: str
    role: Role
    created: float
    last_seen: float

    def may(self, permission: Permission) -> bool:
        return self.role >= permission


def check_secret(secret: str) -> None:
    """A PIN of >= 6 digits, or a password of >= 10 characters."""
    if secret.isdigit():
        if len(secret) < 6:
            raise AuthError("weak_secret", "a PIN needs at least 6 digits")
        if len(set(secret)) == 1:
            raise AuthError("weak_secret", "a PIN of one repeated digit is too easy to guess")
    elif len(secret) < 10:
        raise AuthError("weak_secret", "a password needs at least 10 characters")


AuditHook = Callable[..., Awaitable[Any]]


USERS_RECOVERY = (
    "restore it from a backup, or move it aside (mv users.db users.db.bad) and add a new "
    "administrator locally with 'bessai users add NAME --role admin'"
)


class AuthService:
    """Accounts in SQLite, login with lockout, and idle-expiring sessions."""

    def __init__(
        self,
        path: Path | str,
        *,
        hasher: PasswordHasher | None = None,
        idle_timeout_s: float = 900.0,
        max_failures: int = 5,
        lockout_base_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        audit: AuditHook | None = None,
    ) -> None:
        self.db, self.open_problem = open_store(
            Path(path), _SCHEMA, what="user accounts", recovery=USERS_RECOVERY
        )
        self.hasher = hasher or PasswordHasher()
        self.idle_timeout_s = idle_timeout_s
        self.max_failures = max_failures
        self.lockout_base_s = lockout_base_s
        self.clock = clock
        self.audit = audit
        self._sessions: dict[str, Session] = {}
        self._dummy_hash: str | None = None

    def has_users(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM users LIMIT 1"))

    def users(self) -> list[tuple[str, Role]]:
        return [
            (n, Role(r)) for n, r in self.db.query("SELECT name, role FROM users ORDER BY name")
        ]

    async def _audit(self, user: str, action: str, outcome: str, **detail: Any) -> None:
        if self.audit is not None:
            await self.audit(user, action, outcome, **detail)

    def _insert(self, name: str, role: Role, hashed: str) -> None:
        try:
            self.db.call(
                lambda c: c.execute(
                    "INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)",
                    (name, int(role), hashed, self.clock()),
                )
            )
        except sqlite3.IntegrityError:
            raise AuthError("exists", f"user {name!r} already exists") from None

    def _check_new(self, name: str, secret: str, by: Session | None) -> None:
        if not _NAME.match(name):
            raise AuthError(
                "bad_name",
                "a user name is 2-32 characters: a-z, 0-9, '_', '.', '-', starting with a letter",
            )
        check_secret(secret)
        if self.has_users() and (by is None or not by.may(Permission.ADMIN)):
            raise AuthError("forbidden", "only an admin may add users")

    async def add_user(
        self, name: str, role: Role, secret: str, *, by: Session | None = None
    ) -> None:
        """Add a user; the first one may be added without a session and must be an admin."""
        self._check_new(name, secret, by)
        if not self.has_users() and role is not Role.ADMIN:
            raise AuthError("first_admin", "the first user must be an admin")
        hashed = await asyncio.to_thread(self.hasher.hash, secret)
        self._insert(name, role, hashed)
        await self._audit(
            by.user if by else name, "user_add", "ok", name=name, role=role.name.lower()
        )

    def _dummy(self) -> str:
        """A hash to verify unknown names against, so that timing does not reveal which exist."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(8))
        return self._dummy_hash

    async def login(self, name: str, secret: str) -> Session:
        """A new session, or AuthError (unknown user and wrong secret are the same answer).

        Failures are counted by one SQL statement each, so parallel attempts (from
        several processes too) all count; success is granted by a statement that
        also checks the lock, so an attempt racing a lockout does not get in.
        """
        now = self.clock()
        row = await self.db.run(
            lambda c: c.execute(
                "SELECT role, hash, locked_until FROM users WHERE name = ?", (name,)
            ).fetchall()
        )
        if not row:
            await asyncio.to_thread(self._verify, self._dummy(), secret)
            await self._audit(name, "login", "refused", why="bad_credentials")
            raise AuthError("bad_credentials", "unknown user or wrong PIN/password")
        role, hashed, locked_until = row[0]
        if locked_until > now:
            await self._audit(name, "login", "refused", why="locked")
            raise AuthError(
                "locked", f"account locked for {locked_until - now:.0f} s", locked_until - now
            )
        if not await asyncio.to_thread(self._verify, hashed, secret):
            lockouts, locked_until = await self.db.run(lambda c: self._count_failure(c, name, now))
            await self._audit(name, "login", "refused", why="bad_credentials", lockouts=lockouts)
            if locked_until > now:
                raise AuthError(
                    "locked",
                    f"too many failures: locked for {locked_until - now:.0f} s",
                    locked_until - now,
                ) from None
            raise AuthError("bad_credentials", "unknown user or wrong PIN/password") from None
        granted = await self.db.run(
            lambda c: (
                c.execute(
                    "UPDATE users SET failures = 0, lockouts = 0 WHERE name = ? AND locked_until <= ?",
                    (name, now),
                ).rowcount
            )
        )
        if not granted:
            await self._audit(name, "login", "refused", why="locked")
            raise AuthError("locked", "account locked while the PIN was checked")
        session = Session(secrets.token_urlsafe(24), name, Role(role), now, now)
        self._sessions[session.token] = session
        await self._audit(name, "login", "ok", role=Role(role).name.lower())
        return session

    def _verify(self, hashed: str, secret: str) -> bool:
        try:
            return bool(self.hasher.verify(hashed, secret))
        except (VerificationError, InvalidHashError):
            return False

    def _count_failure(self, conn: sqlite3.Connection, name: str, now: float) -> tuple[int, float]:
        """One more failure, atomically; the attempt that reaches the limit locks the account."""
        (failures,) = conn.execute(
            "UPDATE users SET failures = failures + 1 WHERE name = ? RETURNING failures", (name,)
        ).fetchone()
        if failures >= self.max_failures:
            conn.execute(
                "UPDATE users SET failures = 0, lockouts = lockouts + 1, "
                "locked_until = ? * (1 << lockouts) + ? WHERE name = ? AND failures >= ?",
                (self.lockout_base_s, now, name, self.max_failures),
            )
        lockouts, locked_until = conn.execute(
            "SELECT lockouts, locked_until FROM users WHERE name = ?", (name,)
        ).fetchone()
        return int(lockouts), float(locked_until)

    def _need_admin(self, by: Session | None) -> None:
        if by is None or not by.may(Permission.ADMIN):
            raise AuthError("forbidden", "only an admin may manage users")

    def _exists(self, name: str) -> None:
        if not self.db.query("SELECT 1 FROM users WHERE name = ?", (name,)):
            raise AuthError("unknown", f"no user {name!r}")

    async def remove_user(self, name: str, *, by: Session | None) -> None:
        """Remove an account (admin); the last administrator cannot be removed."""
        self._need_admin(by)
        assert by is not None
        self._exists(name)
        admins = [n for n, r in self.users() if r is Role.ADMIN]
        if admins == [name]:
            raise AuthError("last_admin", f"{name} is the last administrator")
        await self.db.run(lambda c: c.execute("DELETE FROM users WHERE name = ?", (name,)))
        for token in [t for t, s in self._sessions.items() if s.user == name]:
            del self._sessions[token]
        await self._audit(by.user, "user_remove", "ok", name=name)

    async def reset_secret(self, name: str, secret: str, *, by: Session | None) -> None:
        """Give an account a new PIN or password (admin); it is unlocked too."""
        self._need_admin(by)
        assert by is not None
        self._exists(name)
        check_secret(secret)
        await self._set_secret(name, secret)
        await self._audit(by.user, "user_reset", "ok", name=name)

    async def unlock(self, name: str, *, by: Session | None) -> None:
        """Clear an account's failures and lockout (admin)."""
        self._need_admin(by)
        assert by is not None
        self._exists(name)
        await self.db.run(
            lambda c: c.execute(
                "UPDATE users SET failures = 0, lockouts = 0, locked_until = 0 WHERE name = ?",
                (name,),
            )
        )
        await self._audit(by.user, "user_unlock", "ok", name=name)

    async def recover_admin(self, name: str, secret: str) -> None:
        """Local recovery (whoever can write DATA_DIR): an admin with this PIN, new or reset.

        For a forgotten or locked-out administrator; audited as a local recovery.
        """
        check_secret(secret)
        if not _NAME.match(name):
            raise AuthError("bad_name", "a user name is 2-32 characters: a-z, 0-9, '_', '.', '-'")
        if self.db.query("SELECT 1 FROM users WHERE name = ?", (name,)):
            await self._set_secret(name, secret)
            await self.db.run(
                lambda c: c.execute(
                    "UPDATE users SET role = ? WHERE name = ?", (int(Role.ADMIN), name)
                )
            )
        else:
            hashed = await asyncio.to_thread(self.hasher.hash, secret)
            self._insert(name, Role.ADMIN, hashed)
        await self._audit(name, "admin_recovery", "ok", name=name, local=True)

    async def _set_secret(self, name: str, secret: str) -> None:
        hashed = await asyncio.to_thread(self.hasher.hash, secret)
        await self.db.run(
            lambda c: c.execute(
                "UPDATE users SET hash = ?, failures = 0, lockouts = 0, locked_until = 0 "
                "WHERE name = ?",
                (hashed, name),
            )
        )

    def session(self, token: str | None, *, touch: bool = True) -> Session | None:
        """The live session for a token; None when unknown or idle too long.

        ``touch`` counts the call as the user's activity (a command); a screen
        that only looks whether someone is logged in passes ``touch=False``.
        """
        if token is None:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen > self.idle_timeout_s:
            del self._sessions[token]
            return None
        if touch:
            session.last_seen = now
        return session

    async def logout(self, token: str) -> None:
        session = self._sessions.pop(token, None)
        if session is not None:
            await self._audit(session.user, "logout", "ok")

    def close(self) -> None:
        self.db.close()

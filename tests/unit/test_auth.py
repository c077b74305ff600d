"""Users and roles: no default account, PIN rules, Argon2 hashes, lockout that grows, idle expiry."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bessai.core.stores.auth import AuthError, AuthService, Permission, Role

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def auth(tmp_path: Path, clock: Clock) -> AuthService:
    service = AuthService(tmp_path / "users.db", hasher=FAST, clock=clock, idle_timeout_s=600)
    await service.add_user("ana", Role.ADMIN, "271828")
    admin = await service.login("ana", "271828")
    await service.add_user("olga", Role.OPERATOR, "314159", by=admin)
    await service.add_user("vera", Role.VIEWER, "a long password", by=admin)
    return service


async def test_there_is_no_default_user_and_the_first_must_be_admin(tmp_path: Path) -> None:
    service = AuthService(tmp_path / "u.db", hasher=FAST)
    assert not service.has_users()
    with pytest.raises(AuthError) as info:
        await service.login("admin", "admin")
    assert info.value.code == "bad_credentials"
    with pytest.raises(AuthError) as info:
        await service.add_user("olga", Role.OPERATOR, "314159")
    assert info.value.code == "first_admin"


@pytest.mark.parametrize(
    ("secret", "why"),
    [("12345", "6 digits"), ("111111", "repeated"), ("short pw", "10 characters")],
)
async def test_weak_secrets_are_refused(tmp_path: Path, secret: str, why: str) -> None:
    service = AuthService(tmp_path / "u.db", hasher=FAST)
    with pytest.raises(AuthError, match=why):
        await service.add_user("ana", Role.ADMIN, secret)


async def test_only_an_admin_adds_users(auth: AuthService) -> None:
    olga = await auth.login("olga", "314159")
    with pytest.raises(AuthError) as info:
        await auth.add_user("eve", Role.ADMIN, "918273", by=olga)
    assert info.value.code == "forbidden"


async def test_roles_and_permissions(auth: AuthService) -> None:
    olga = await auth.login("olga", "314159")
    vera = await auth.login("vera", "a long password")
    assert olga.may(Permission.CONTROL)
    assert not olga.may(Permission.ENGINEER)
    assert not vera.may(Permission.CONTROL)
    assert vera.may(Permission.VIEW)


async def test_secret_is_stored_as_argon2id_never_in_clear(
    auth: AuthService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError):
        await auth.login("olga", "000000")
    await auth.login("olga", "314159")
    rows = auth.db.query("SELECT hash FROM users WHERE name = 'olga'")
    assert rows[0][0].startswith("$argon2id$")
    files = [tmp_path / "users.db", *tmp_path.glob("users.db-*")]  # noqa: ASYNC240
    data = b"".join(p.read_bytes() for p in files)
    assert b"314159" not in data
    assert "314159" not in caplog.text
    assert "000000" not in caplog.text


async def test_five_failures_lock_the_account_for_a_growing_time(
    auth: AuthService, clock: Clock
) -> None:
    for _ in range(4):
        with pytest.raises(AuthError) as info:
            await auth.login("olga", "000000")
        assert info.value.code == "bad_credentials"
    with pytest.raises(AuthError) as info:
        await auth.login("olga", "000000")
    assert info.value.code == "locked"
    assert info.value.retry_after_s == pytest.approx(30.0)
    with pytest.raises(AuthError) as info:
        await auth.login("olga", "314159")  # even the right PIN waits out the lock
    assert info.value.code == "locked"
    clock.now += 31
    for _ in range(5):
        with pytest.raises(AuthError):
            await auth.login("olga", "000000")
    assert auth.db.query("SELECT locked_until FROM users WHERE name = 'olga'")[0][
        0
    ] == pytest.approx(clock.now + 60.0)
    clock.now += 61
    session = await auth.login("olga", "314159")
    assert session.role is Role.OPERATOR


async def test_sessions_expire_when_idle(auth: AuthService, clock: Clock) -> None:
    session = await auth.login("olga", "314159")
    clock.now += 599
    assert auth.session(session.token) is session  # activity refreshes it
    clock.now += 599
    assert auth.session(session.token) is session
    clock.now += 601
    assert auth.session(session.token) is None
    assert auth.session("forged-token") is None


def test_cli_users_add_and_list(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, DATA_DIR=str(tmp_path))

    def bessai(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bessai", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )

    assert (
        bessai("users", "add", "olga", "--role", "operator", stdin="314159\n").returncode == 1
    )  # first must be admin
    first = bessai("users", "add", "ana", "--role", "admin", stdin="271828\n")
    assert first.returncode == 0, first.stderr
    refused = bessai("users", "add", "olga", stdin="314159\n")
    assert refused.returncode == 1
    assert "--as ADMIN" in refused.stderr
    ok = bessai("users", "add", "olga", "--as", "ana", stdin="271828\n314159\n")
    assert ok.returncode == 0, ok.stderr
    listed = bessai("users", "list", stdin="")
    assert listed.stdout.split() == ["ana", "admin", "olga", "operator"]


async def test_parallel_wrong_pins_all_count_and_lock(auth: AuthService, clock: Clock) -> None:
    results = await asyncio.gather(
        *(auth.login("olga", "000000") for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, AuthError) for r in results)
    assert sum(1 for r in results if isinstance(r, AuthError) and r.code == "locked") >= 1
    with pytest.raises(AuthError, match="locked"):
        await auth.login("olga", "314159")


async def test_twenty_parallel_attempts_do_not_let_the_right_pin_in_afterwards(
    auth: AuthService,
) -> None:
    attempts = [auth.login("olga", "000000") for _ in range(19)] + [auth.login("olga", "314159")]
    await asyncio.gather(*attempts, return_exceptions=True)
    with pytest.raises(AuthError, match="locked"):
        await auth.login("olga", "314159")


def _login_in_another_process(db: Path, secret: str) -> str:
    code = (
        "import asyncio, sys\n"
        "from argon2 import PasswordHasher\n"
        "from bessai.core.stores.auth import AuthService, AuthError\n"
        f"a = AuthService({str(db)!r}, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))\n"
        "try:\n"
        f"    asyncio.run(a.login('olga', {secret!r}))\n"
        "    print('ok')\n"
        "except AuthError as e:\n"
        "    print(e.code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


async def test_failures_count_across_processes(auth: AuthService, tmp_path: Path) -> None:
    db = tmp_path / "users.db"
    outcomes = await asyncio.gather(
        *(asyncio.to_thread(_login_in_another_process, db, "000000") for _ in range(6))
    )
    assert set(outcomes) <= {"bad_credentials", "locked"}
    assert (
        "locked" in outcomes
        or auth.db.query("SELECT locked_until FROM users WHERE name='olga'")[0][0] > 0
    )
    assert await asyncio.to_thread(_login_in_another_process, db, "314159") == "locked"


async def test_an_unknown_name_costs_as_much_as_a_wrong_pin(auth: AuthService) -> None:
    loop = asyncio.get_running_loop()

    async def timed(name: str) -> float:
        started = loop.time()
        with pytest.raises(AuthError, match="unknown user or wrong PIN"):
            await auth.login(name, "999999")
        return loop.time() - started

    await timed("nobody")  # the dummy hash is made once
    known = sorted([await timed("vera") for _ in range(3)])[1]
    unknown = sorted([await timed("nobody") for _ in range(3)])[1]
    assert unknown > 0.3 * known, (known, unknown)


async def test_admin_removes_resets_and_unlocks(auth: AuthService) -> None:
    admin = await auth.login("ana", "271828")
    operator = await auth.login("olga", "314159")
    with pytest.raises(AuthError, match="only an admin"):
        await auth.unlock("vera", by=operator)
    for _ in range(5):
        with pytest.raises(AuthError):
            await auth.login("vera", "wrong password")
    with pytest.raises(AuthError, match="locked"):
        await auth.login("vera", "a long password")
    await auth.unlock("vera", by=admin)
    assert (await auth.login("vera", "a long password")).user == "vera"
    await auth.reset_secret("olga", "161803", by=admin)
    with pytest.raises(AuthError):
        await auth.login("olga", "314159")
    assert (await auth.login("olga", "161803")).user == "olga"
    await auth.remove_user("olga", by=admin)
    assert "olga" not in [n for n, _ in auth.users()]
    with pytest.raises(AuthError, match="last administrator"):
        await auth.remove_user("ana", by=admin)


async def test_local_recovery_of_a_locked_out_admin(auth: AuthService) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            await auth.login("ana", "000000")
    await auth.recover_admin("ana", "577215")
    assert (await auth.login("ana", "577215")).role is Role.ADMIN
    await auth.recover_admin("root2", "662607")
    assert ("root2", Role.ADMIN) in auth.users()

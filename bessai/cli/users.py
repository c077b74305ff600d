"""``bessai users``: operator accounts (add, list, remove, reset, unlock, recover-admin)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from bessai.cli.common import read_secret
from bessai.core.config.settings import Settings
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthError, AuthService, Role

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    users = sub.add_parser("users", help="operator accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (the first one must be an admin)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.name.lower() for r in Role], default="operator")
    add.add_argument(
        "--as", dest="admin", metavar="ADMIN", help="an admin who authorises the change"
    )
    users_sub.add_parser("list", help="list users and roles")
    for command, text in (
        ("remove", "remove a user (admin)"),
        ("reset", "give a user a new PIN or password, and unlock it (admin)"),
        ("unlock", "clear a user's failed logins and lockout (admin)"),
    ):
        managed = users_sub.add_parser(command, help=text)
        managed.add_argument("name")
        managed.add_argument(
            "--as", dest="admin", metavar="ADMIN", required=True, help="the admin who does it"
        )
    recover = users_sub.add_parser(
        "recover-admin",
        help="local recovery of a forgotten or locked-out administrator (needs write access "
        "to DATA_DIR; audited)",
    )
    recover.add_argument("name")


def run(args: argparse.Namespace, settings: Settings) -> int:
    auth = AuthService(
        settings.DATA_DIR / "users.db", audit=AuditTrail(settings.DATA_DIR / "audit.db").append
    )
    try:
        if args.users_command == "list":
            for name, role in auth.users():
                print(f"{name:<24} {role.name.lower()}")
            return 0

        async def add() -> None:
            admin = None
            if auth.has_users():
                if not args.admin:
                    raise AuthError(
                        "forbidden", "users exist already: name an admin with --as ADMIN"
                    )
                admin = await auth.login(
                    args.admin, read_secret(f"{args.admin}'s PIN or password: ")
                )
            secret = read_secret(f"new PIN or password for {args.name}: ")
            await auth.add_user(args.name, Role[args.role.upper()], secret, by=admin)

        async def manage() -> str:
            if args.users_command == "recover-admin":
                secret = read_secret(f"new PIN or password for administrator {args.name}: ")
                await auth.recover_admin(args.name, secret)
                return f"administrator {args.name} recovered (audited as a local recovery)"
            admin = await auth.login(args.admin, read_secret(f"{args.admin}'s PIN or password: "))
            if args.users_command == "remove":
                await auth.remove_user(args.name, by=admin)
                return f"user {args.name} removed"
            if args.users_command == "unlock":
                await auth.unlock(args.name, by=admin)
                return f"user {args.name} unlocked"
            await auth.reset_secret(
                args.name, read_secret(f"new PIN or password for {args.name}: "), by=admin
            )
            return f"user {args.name} has a new PIN or password"

        if args.users_command != "add":
            print(asyncio.run(manage()))
            return 0
        asyncio.run(add())
        print(f"user {args.name} added as {args.role}")
        return 0
    except AuthError as exc:
        print(f"bessai: {exc}", file=sys.stderr)
        return 1
    finally:
        auth.close()

"""The ``bessai`` command: the composition root.

``bessai`` runs the gateway with the operator app (headless without a
display), ``bessai --headless`` the unattended service, and each subcommand
(``simulate``, ``profile``, ``site``, ``users``, ``audit``, ``export``,
``dispatch``, ``cloud``, ``fleet``, ``discover``, ``commission``) lives in
its own module here, with the part of the parser that belongs to it.
Configuration errors end with exit code 2 and one line naming what is wrong.
"""

from bessai.cli.entry import main

__all__ = ["main"]

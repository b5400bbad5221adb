"""The top floor: every way a process of this provider starts.

``cli.py`` is the command line (serving Terraform by default, ``install``, ``daemon
status|stop``); ``session.py`` builds the provider and serves one Terraform session;
``handoff.py`` is the starting process's side of the warm server (hand the session over, or
start the server); ``warm_server.py`` hosts that server; ``fast_start.py`` is the script the
launcher runs without ``site`` to reach a running server sooner, and ``archive_launch.py`` the
release archive's launcher runs with the system Python to do the same for the archive's
program. Nothing below imports from here.

Deliberately empty, so that importing one entry point loads no other.
"""

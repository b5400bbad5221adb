"""The per-user warm server: Python start-up and imports paid once, not per provider process.

Terraform starts the provider several times per command. With the warm server, the process
Terraform starts (``client.py``, standard library only) hands its standard streams,
environment, working directory and arguments over a unix socket to a server that has already
imported everything (``server.py``); the server forks a fresh process for that session, which
serves Terraform exactly as an unshared provider would, while the starting process relays its
exit status. ``wire.py`` is that exchange, both ends; ``fast_start.py`` is the script the
launcher runs without ``site`` to reach a running server sooner; ``settings.py`` says where the
socket lives and whether the server is used at all.
"""

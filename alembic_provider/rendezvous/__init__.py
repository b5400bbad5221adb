"""Where this user's provider processes meet: private unix sockets and what travels on them.

The bottom floor of the package: standard library only, and importing nothing above it (the
package root gives the version that names sockets). ``settings.py`` says where the sockets live
(a directory only this user may enter), what they are named (keyed by the provider version and
the installation) and whether the warm server is used; ``sockets.py`` binds, reaches and checks
them (same user only) and holds the start-up lock; ``wire.py`` is the session exchange between
the process Terraform starts and the warm server; ``control.py`` the JSON control requests
(``status``, ``stop``). The entry floor, the executor and the worker all use these; the worker,
which cannot import the package, loads ``sockets.py`` by its path.

Deliberately empty: the launcher's fast start imports single modules of this package, and
loads nothing it does not use.
"""

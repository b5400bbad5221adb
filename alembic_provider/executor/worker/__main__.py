"""Run Alembic operations for the provider, inside the user's interpreter.

The provider starts this directory by path with the user's Python
(``python -B <this directory> MODE FD``); it needs only the standard library, alembic and
SQLAlchemy, and runs on Python 3.8 with Alembic 1.7 and SQLAlchemy 1.4 as well as current
releases. The modules beside this file are split along Alembic's own seams:

- ``tfalembic_wire``: JSON lines on the private socket (never stdout, which env.py owns);
- ``tfalembic_config``: the Config, built like the ``alembic`` command line builds it;
- ``tfalembic_scripts``: the script directory's graph, targets and steps;
- ``tfalembic_scriptcache``: that graph remembered, so a plan runs no revision module;
- ``tfalembic_alembic``: the only private Alembic names the worker uses, each explained;
- ``tfalembic_runtime``: running env.py with a small ``fn``;
- ``tfalembic_review``: what each pending ``upgrade()`` would do, recorded without a database;
- ``tfalembic_tablesizes``: the size of existing tables, from the database's statistics;
- ``tfalembic_lock``: the migration lock;
- ``tfalembic_lockwait``: how long migration statements wait for table and row locks;
- ``tfalembic_lifeline``: the provider's lifeline, and cancellation that reaches the database;
- ``tfalembic_verbs``: one operation per Alembic verb, and the dispatcher;
- ``tfalembic_serve``: the process modes, ``run`` (one request), ``serve`` (a provider's own
  warm server) and ``listen`` (a warm server shared by this user's provider processes);
- ``tfalembic_keep``: keeping what env.py imports warm in a worker server, where safe;
- ``tfalembic_probe``: what importing a module does, seen in a throwaway process;
- ``tfalembic_linger``: a worker that stays for its Terraform command's next request;
- ``tfalembic_errors``: the structured failure every module reports;
- ``tfalembic_cachedir``: the provider's cache directory, where the worker's own bytecode
  is kept;
- ``tfalembic_files``: when a file read before may be taken as unchanged.

Python puts this directory first on ``sys.path``; the modules carry a unique prefix so they
never shadow a module of the user's, and every one of them is imported here, before the
directory is taken off ``sys.path`` again, so env.py never sees it. Never imports the provider
package and never writes bytecode.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from tfalembic_cachedir import own_bytecode

with own_bytecode():
    import tfalembic_alembic  # noqa: F401  # imported before the directory leaves sys.path
    import tfalembic_config  # noqa: F401
    import tfalembic_errors  # noqa: F401
    import tfalembic_files  # noqa: F401
    import tfalembic_keep  # noqa: F401
    import tfalembic_lifeline  # noqa: F401
    import tfalembic_linger  # noqa: F401
    import tfalembic_lock  # noqa: F401
    import tfalembic_lockwait  # noqa: F401
    import tfalembic_probe  # noqa: F401
    import tfalembic_review  # noqa: F401
    import tfalembic_runtime  # noqa: F401
    import tfalembic_scriptcache  # noqa: F401
    import tfalembic_scripts  # noqa: F401
    import tfalembic_tablesizes  # noqa: F401
    import tfalembic_verbs  # noqa: F401
    import tfalembic_wire  # noqa: F401
    from tfalembic_serve import listen, prepare_process, run, serve


def main(argv: Sequence[str]) -> int:
    if len(argv) in (4, 5) and argv[1] == "listen":
        if os.fork() != 0:
            os._exit(0)  # detach: the starter reaps this process, the server is nobody's child
        prepare_process()
        status = listen(argv[2], float(argv[3]), *argv[4:])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    if len(argv) != 3 or argv[1] not in ("run", "serve"):
        sys.stderr.write("usage: worker run|serve FD, or worker listen SOCKET IDLE [VERSION]\n")
        return 2
    prepare_process()
    return run(int(argv[2])) if argv[1] == "run" else serve(int(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The release archive's launcher: a system Python hands the session over, else the program runs.

The archive's ``terraform-provider-alembic_vVERSION`` is a shell script. When Terraform starts
it and ``/usr/bin/python3`` exists, it runs this file with that interpreter (``-I -S -B``: no
``site``, no user paths, no bytecode written into the provider's directory), which hands the
session to a running warm server through the fast start in a fraction of the time the
program's own start-up takes. Whatever fails here (no server yet, the server off, an
interpreter too old to read the package), the archive's program runs instead, with the same
arguments, as if this file had not been tried. Written to run on any Python 3.5 or newer.
"""

import os
import sys


def _launch() -> None:
    program = sys.argv[1]
    try:
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        sys.path.insert(0, package_root)
        from alembic_provider.entry.fast_start import exit_if_served

        exit_if_served(sys.argv[2:], program)
    except BaseException:
        pass
    os.execv(program, [program, *sys.argv[2:]])


if __name__ == "__main__":
    _launch()

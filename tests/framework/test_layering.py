"""The framework sits below the provider, the plugin layer and the type modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_framework_imports_nothing_that_imports_it() -> None:
    code = """
        import sys
        import alembic_provider.framework.contract, alembic_provider.framework.dispatch
        import alembic_provider.framework.guard, alembic_provider.framework.modifiers
        import alembic_provider.framework.private
        above = ("provider", "plugin", "resources", "data_sources")
        ours = [m.split(".") for m in sys.modules if m.startswith("alembic_provider.")]
        print(sorted(".".join(parts) for parts in ours if parts[1] in above))
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

"""The framework layer: what every resource and data source gets from the server, not itself.

Modelled on terraform-plugin-framework's server: dispatch owns Terraform's contract so the type
modules declare schema, plan modifiers and their machine, and nothing else.

- :mod:`.guard` is the one place where an exception becomes a diagnostic.
- :mod:`.dispatch` runs one operation per RPC (redaction, log, guard, result).
- :mod:`.contract` checks outgoing plans and states against Terraform's consistency rules.
- :mod:`.modifiers` holds the named plan modifiers (``default``, ``use_state_for_unknown``,
  ``requires_replace``) and runs them.
- :mod:`.private` names the keys kept in Terraform's private state.

Imports only the layers below it (cty, schema, diagnostics, errors, redaction, log): never
``provider.py``, ``plugin/``, ``resources/`` or ``data_sources/``, which import it.
"""

"""What ``alembic_upgrade`` and ``alembic_stamp`` share, one job a module.

- ``resource``: the hooks in Terraform's verb order, routing to the flow.
- ``flow``: each verb as gather facts, fire, carry out the outcome.
- ``facts``: what a read or a failure says, as the machine's facts.
- ``effects``: carrying out an outcome (notes, writes, values).
- ``work``: one operation's inputs and the executor calls it makes.
- ``compat``: the Go provider's states and configurations, and the private-state envelope.

The lifecycle rules are :mod:`statemachine.resource`'s. Never imports alembic.
"""

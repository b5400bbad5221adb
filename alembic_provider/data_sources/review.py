"""``alembic_review``: what the migrations an upgrade toward a target would run are risky for.

Read-only: it reads the database's heads like ``alembic_current``, records what each pending
revision's ``upgrade()`` would do without running it, and asks the database's statistics how
big the tables they touch are. Its findings are for ``check`` blocks, preconditions and CI
policies; the same findings are plan warnings of ``alembic_upgrade``.
"""

from __future__ import annotations

from alembic_provider.data_sources.base import ProjectDataSource
from alembic_provider.executor import CallOptions, Project
from alembic_provider.resources.attributes import connection_attributes, pending_attribute
from alembic_provider.resources.base import Context, Values
from alembic_provider.resources.common import heads_text
from alembic_provider.review import Finding, Waived, findings_of, waive
from alembic_provider.schema import Attribute

__all__ = ["ReviewDataSource"]

TYPE_NAME = "alembic_review"

FINDING_TYPE = [
    "list",
    [
        "object",
        {
            "code": "string",
            "category": "string",
            "revision": "string",
            "message": "string",
            "operation": "string",
            "table": "string",
            "column": "string",
            "why": "string",
            "safer": "string",
            "rows": "number",
            "bytes": "number",
            "line": "number",
        },
    ],
]


class ReviewDataSource(ProjectDataSource):
    TYPE_NAME = TYPE_NAME
    DESCRIPTION = (
        "Reviews the migrations an upgrade to `target` would run, without running them: each "
        "risky operation (destructive, breaking, locking on this database, or SQL the review "
        "cannot analyse) becomes a finding with a stable code, the table's estimated size and "
        "the safer way. It never writes to the database. See the review guide for the codes."
    )
    ID_DESCRIPTION = "The database's heads and the resolved target, for reference."

    def attributes(self) -> tuple[Attribute, ...]:
        return (
            Attribute(
                "target",
                "string",
                "Revision to review up to: `heads` (the default), `head`, a revision id, a "
                "branch label or `branch@head`.",
                optional=True,
            ),
            *connection_attributes(),
            pending_attribute(
                "Migrations an upgrade to `target` would run, in order; empty when the database "
                "is there (or past it)."
            ),
            Attribute(
                "dialect",
                "string",
                "The database's SQLAlchemy dialect name (`postgresql`, `mysql`, `sqlite` ...); "
                "locking findings depend on it.",
                computed=True,
            ),
            Attribute(
                "findings",
                FINDING_TYPE,
                "Every finding, in the order the migrations run. Each has `code` and "
                "`category` (`destructive`, `breaking`, `locking` or `opaque`), the `revision` "
                "and its `message`, the `operation`, its `table` and `column` (null when none), "
                "`why` it is risky here, the `safer` way, the table's estimated `rows` and "
                "`bytes` (null when the table is new or the statistics do not say) and the "
                "`line` of the revision file (null when unknown).",
                computed=True,
            ),
            Attribute(
                "waived",
                ["list", ["object", {"revision": "string", "code": "string", "reason": "string"}]],
                "Findings an `# alembic-review: ignore CODE [-- reason]` comment in the revision "
                "file waives (on an operation's line: that operation; on a line of its own: the "
                "whole revision). They are not in `findings`.",
                computed=True,
            ),
            Attribute(
                "partial",
                ["list", "string"],
                "The revisions whose operations were read from source rather than recorded "
                "(they read data through `op.get_bind()`, or could not run without a "
                "database); their `partial-review` findings say why.",
                computed=True,
            ),
        )

    def observe(self, ctx: Context, project: Project, config: Values) -> Values:
        target = config.get("target") or "heads"
        options = CallOptions(cancel=ctx.cancel)
        inspection = ctx.executor.inspect(
            project, target, options=options, planned=ctx.databases.others()
        )
        heads = inspection.planned_from
        pending = inspection.steps if inspection.direction == "upgrade" else ()
        findings: tuple[Finding, ...] = ()
        waived: tuple[Waived, ...] = ()
        partial: list[str] = []
        if pending:
            review = ctx.executor.review(
                project,
                target,
                current=heads,
                dialect=inspection.dialect,
                sizes=inspection.dialect is not None,
                options=options,
            )
            findings, waived = waive(findings_of(review, inspection.dialect), review)
            partial = [r.revision for r in review.revisions if r.partial is not None]
        return {
            "pending": [{"revision": s.revision, "message": s.message} for s in pending],
            "dialect": inspection.dialect,
            "findings": [_finding(f) for f in findings],
            "waived": [
                {"revision": w.finding.revision, "code": w.finding.code, "reason": w.reason}
                for w in waived
            ],
            "partial": partial,
            "id": f"{heads_text(heads)}->{heads_text(inspection.target)}",
        }


def _finding(finding: Finding) -> Values:
    size = finding.size
    return {
        "code": finding.code,
        "category": finding.category,
        "revision": finding.revision,
        "message": finding.revision_message,
        "operation": finding.operation,
        "table": finding.table,
        "column": finding.column,
        "why": finding.why,
        "safer": finding.safer,
        "rows": None if size is None else size.rows,
        "bytes": None if size is None else size.bytes,
        "line": finding.line,
    }

"""audit_entry: the route, an index for the scoped query, kept 180 days then prunable

Revision ID: kernel_0003
Revises: kernel_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "kernel_0003"
down_revision = "kernel_0002"
branch_labels = None
depends_on = None

# The floor the issue sets (settings.AUDIT_MIN_KEEP_DAYS); held here for every database role,
# whatever a service's settings say.
_KEEP = "180 days"


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("route", sa.String(), nullable=True))
    # The county admin's query: a region prefix (LIKE '511529%'), newest first.
    op.create_index(
        "ix_audit_entry_region_code_at",
        "audit_entry",
        ["region_code", "at"],
        postgresql_ops={"region_code": "varchar_pattern_ops"},
    )
    # UPDATE and TRUNCATE stay refused for every role; DELETE is checked row by row, so the
    # retention job can prune old entries while nothing younger than 180 days can go.
    op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
    op.execute(
        "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR TRUNCATE "
        "ON audit_entry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
    )
    op.execute(
        "CREATE FUNCTION audit_entry_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF OLD.at > now() - interval '{_KEEP}' THEN "
        f"RAISE EXCEPTION 'audit entries cannot be changed, nor deleted before {_KEEP}'; "
        "END IF; RETURN OLD; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_entry_kept BEFORE DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_kept()"
    )
    # Belt and braces: no role gets these through PUBLIC (the triggers hold for the owner too).
    op.execute("REVOKE UPDATE, TRUNCATE ON audit_entry FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_entry_kept ON audit_entry")
    op.execute("DROP FUNCTION audit_entry_kept()")
    op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
    op.execute(
        "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_entry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
    )
    op.drop_index("ix_audit_entry_region_code_at", table_name="audit_entry")
    op.drop_column("audit_entry", "route")

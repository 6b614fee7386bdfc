"""audit_entry_prune(keep_days): the one way the services' role deletes audit entries

Revision ID: kernel_0004
Revises: kernel_0003
"""

from alembic import op

revision = "kernel_0004"
down_revision = "kernel_0003"
branch_labels = None
depends_on = None

# The services serve as a role without DELETE on audit_entry (migrate.grant_runtime); the daily
# job prunes through this function, which runs as its owner (SECURITY DEFINER) and refuses to
# keep less than the issue's 180 days (settings.AUDIT_MIN_KEEP_DAYS). kernel_0003's trigger
# still refuses any entry younger than that, whoever deletes it. search_path is fixed to the
# catalog (and pg_temp last), as PostgreSQL's docs require of SECURITY DEFINER functions, and
# the table is named with its schema.


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION audit_entry_prune(keep_days integer) RETURNS bigint "
        "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
        "DECLARE deleted bigint; "
        "BEGIN "
        "IF keep_days IS NULL OR keep_days < 180 THEN "
        "RAISE EXCEPTION 'audit entries are kept at least 180 days, not %', keep_days "
        "USING ERRCODE = 'invalid_parameter_value'; "
        "END IF; "
        "DELETE FROM public.audit_entry WHERE at < now() - make_interval(days => keep_days); "
        "GET DIAGNOSTICS deleted = ROW_COUNT; "
        "RETURN deleted; "
        "END $$"
    )
    # Functions are executable by PUBLIC unless revoked: only the services' role is granted it.
    op.execute("REVOKE EXECUTE ON FUNCTION audit_entry_prune(integer) FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_entry_prune(integer)")

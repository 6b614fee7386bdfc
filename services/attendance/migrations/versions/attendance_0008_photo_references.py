"""spot_check's photo is one uploaded; the roster's check constraints named once, not twice

Revision ID: attendance_0008
Revises: attendance_0007
"""

from alembic import op

revision = "attendance_0008"
down_revision = "attendance_0007"
branch_labels = None
depends_on = None

# attendance_0002 gave full names that the naming convention then prefixed again.
_RENAMED = {
    "team_member": ("end_cause", "role", "term_order"),
    "checkin_area": ("kind",),
}


def upgrade() -> None:
    # A photo named before photos were stored (none in the field) would break the reference.
    op.execute(
        "UPDATE spot_check SET photo_sha256 = NULL WHERE photo_sha256 IS NOT NULL "
        "AND photo_sha256 NOT IN (SELECT sha256 FROM photo)"
    )
    op.create_foreign_key(
        "fk_spot_check_photo_sha256_photo", "spot_check", "photo", ["photo_sha256"], ["sha256"]
    )
    for table, names in _RENAMED.items():
        for name in names:
            op.execute(
                f"ALTER TABLE {table} RENAME CONSTRAINT ck_{table}_ck_{table}_{name} "
                f"TO ck_{table}_{name}"
            )


def downgrade() -> None:
    for table, names in _RENAMED.items():
        for name in names:
            op.execute(
                f"ALTER TABLE {table} RENAME CONSTRAINT ck_{table}_{name} "
                f"TO ck_{table}_ck_{table}_{name}"
            )
    op.drop_constraint("fk_spot_check_photo_sha256_photo", "spot_check", type_="foreignkey")

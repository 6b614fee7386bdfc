"""photo: check-in photos stored by their content; the photo a check-in was taken with

Revision ID: attendance_0006
Revises: attendance_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "attendance_0006"
down_revision = "attendance_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_photo"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp', 'image/heic')",
            name="content_type",
        ),
        sa.CheckConstraint("size_bytes = octet_length(content)", name="size_bytes"),
    )
    # Images come compressed: TOAST would try again for nothing. Stored out of line as they are.
    op.execute("ALTER TABLE photo ALTER COLUMN content SET STORAGE EXTERNAL")

    op.add_column("checkin", sa.Column("photo_sha256", sa.String(length=64), nullable=True))
    op.create_foreign_key(None, "checkin", "photo", ["photo_sha256"], ["sha256"])
    # Every check-in with a photo asks whether another has it (the photo_reused flag); most
    # have none, and are left out of the index.
    op.create_index(
        "ix_checkin_photo_sha256",
        "checkin",
        ["photo_sha256"],
        postgresql_where=sa.text("photo_sha256 IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_checkin_photo_sha256", "checkin")
    op.drop_constraint("fk_checkin_photo_sha256_photo", "checkin", type_="foreignkey")
    op.drop_column("checkin", "photo_sha256")
    op.drop_table("photo")

"""coreBOS's default activity types (Call, Meeting, Task) on a fresh install

A fresh database used to have an empty picklist until ``flask seed-demo`` ran, so an
installation without the demo could not create a single activity. Inserted only when the
picklist is empty: an installation whose admin already shaped it is left alone.

Revision ID: 20261210_01_default_types
Revises: 20261202_11_run_attempts
Create Date: 2026-12-10

"""
from alembic import op
import sqlalchemy as sa


revision = '20261210_01_default_types'
down_revision = '20261202_11_run_attempts'
branch_labels = None
depends_on = None

#: as portal.crm.services.DEFAULT_ACTIVITY_TYPES (a migration must not import the app)
DEFAULT_ACTIVITY_TYPES = ("Call", "Meeting", "Task")

activity_types = sa.table(
    'activity_types',
    sa.column('id', sa.Integer()), sa.column('name', sa.String(64)),
    sa.column('position', sa.Integer()), sa.column('active', sa.Boolean()),
)


def upgrade():
    conn = op.get_bind()
    if conn.execute(sa.select(sa.func.count()).select_from(activity_types)).scalar():
        return
    op.bulk_insert(activity_types, [dict(name=name, position=position, active=True)
                                    for position, name in enumerate(DEFAULT_ACTIVITY_TYPES)])


def downgrade():
    # Types may be in use by then; removing them would take activities with them.
    pass

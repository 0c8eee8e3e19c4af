"""a colour per activity type (activity_types.color) and an event's own colour from Google
(activities.color: NULL follows the type's)

Existing types get a default colour: Call, Meeting and Task their own, any other type
Google's Lavender; the admin changes them on the Activity types page.

Revision ID: 20261210_02_type_colours
Revises: 20261210_01_default_types
Create Date: 2026-12-10

"""
from alembic import op
import sqlalchemy as sa


revision = '20261210_02_type_colours'
down_revision = '20261210_01_default_types'
branch_labels = None
depends_on = None

#: colours of Google's event palette, so the exported colour is exactly the one shown
DEFAULT_COLORS = {"call": "#5484ed", "meeting": "#51b749", "task": "#ffb878"}
OTHER_COLOR = "#a4bdfc"


def upgrade():
    with op.batch_alter_table('activity_types') as batch:
        batch.add_column(sa.Column('color', sa.String(length=7), nullable=False,
                                   server_default=OTHER_COLOR))
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('color', sa.String(length=7), nullable=True))
    types = sa.table('activity_types', sa.column('name', sa.String), sa.column('color', sa.String))
    for name, color in DEFAULT_COLORS.items():
        op.execute(types.update().where(sa.func.lower(types.c.name) == name)
                   .values(color=color))


def downgrade():
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('color')
    with op.batch_alter_table('activity_types') as batch:
        batch.drop_column('color')

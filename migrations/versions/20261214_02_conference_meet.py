"""activities.conference, conference_url, conference_name: a video conference on the
activity (a Google Meet the user asked for, or any conference Google's event carries) and
the link to join it, as Google last gave it

Revision ID: 20261214_02_conference_meet
Revises: 20261214_01_push_channels
Create Date: 2026-12-14

"""
from alembic import op
import sqlalchemy as sa


revision = '20261214_02_conference_meet'
down_revision = '20261214_01_push_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('conference', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('conference_url', sa.String(length=2048), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('conference_name', sa.String(length=200), nullable=False,
                                   server_default=''))


def downgrade():
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('conference_name')
        batch.drop_column('conference_url')
        batch.drop_column('conference')

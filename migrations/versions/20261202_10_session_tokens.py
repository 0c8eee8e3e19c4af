"""users.session_token: revocable sessions (the token is part of the session's and the
remember cookie's user id; a new token ends every session of the user)

Revision ID: 20261202_10_session_tokens
Revises: 20261202_02_contacts_sync
Create Date: 2026-12-02

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '20261202_10_session_tokens'
down_revision = '20261202_02_contacts_sync'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer),
                     sa.column('session_token', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table('users') as batch:
        batch.alter_column('session_token', existing_type=sa.String(length=64),
                           nullable=False)


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_token')

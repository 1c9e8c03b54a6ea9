"""performances.score_*: an optional score MIDI sent with an upload (bar numbers, score-aware timing)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('performances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('score_path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('score_filename', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_performances_score_sha256'), ['score_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('performances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performances_score_sha256'))
        batch_op.drop_column('score_filename')
        batch_op.drop_column('score_path')
        batch_op.drop_column('score_sha256')

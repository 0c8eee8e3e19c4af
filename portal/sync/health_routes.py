"""The admin's Sync health page: every user's Google connection and sync at a glance."""
from flask import Blueprint, render_template, request

from portal.core.auth import admin_required
from portal.sync import health, wording

bp = Blueprint("sync_health", __name__, url_prefix="/admin/sync-health")


@bp.get("/")
@admin_required
def index():
    # Anything but "attention" shows everyone: a mistyped filter is not an error.
    only_attention = request.args.get("show") == "attention"
    everyone = health.sync_health()
    attention = [row for row in everyone if row.needs_attention]
    rows = attention if only_attention else everyone
    return render_template("sync/health.html", rows=rows, only_attention=only_attention,
                           attention_count=len(attention),
                           status_label=wording.status_label,
                           status_style=wording.status_style,
                           direction_words=wording.direction_words, title="Sync health")

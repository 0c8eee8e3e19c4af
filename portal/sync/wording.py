"""What a run did, in the words users use: "Sent to Google", "Kept in the CRM (deleted in
Google)", "Conflict: CRM version kept" instead of the engines' action names."""
import json

from portal.sync.core.recorder import KEPT_IN_CRM

_WORDS = {
    # calendar
    "insert_event": "Sent to Google",
    "patch_event": "Updated in Google",
    "delete_event": "Removed from Google",
    "move_event": "Moved to another Google calendar",
    "create_activity": "Imported",
    "update_activity": "Updated in the CRM",
    "delete_activity": "Deleted in the CRM (deleted in Google)",
    "link_activity": "Linked to an activity already in the CRM",
    "move_link": "Followed a move in Google",
    "add_exception": "Occurrence taken out of the series",
    "rebase": "Already the same on both sides",
    "full_sync": "Read everything again (Google asked for it)",
    # contacts
    "create_person": "Sent to Google",
    "update_person": "Updated in Google",
    "delete_person": "Removed from Google",
    "add_to_label": "Put in the Google label",
    "remove_from_label": "Taken out of the Google label",
    "create_contact": "Imported",
    "update_contact": "Updated in the CRM",
    "delete_contact": "Deleted in the CRM (deleted in Google)",
    "untag_contact": "Tag removed (taken out of the label in Google)",
    "link": "Linked to a contact already in the CRM",
    # both
    KEPT_IN_CRM: "Kept in the CRM (deleted in Google)",
    "unlink": "No longer synchronized",
    "merged": "Merged",
    "skip": "Skipped",
    "error": "Not synchronized: refused",
}

_DIRECTIONS = {"export": "CRM to Google", "import": "Google to CRM", "both": "Both ways"}

STATUS_LABELS = {"queued": "Queued", "running": "Running", "succeeded": "Succeeded",
                 "failed": "Failed", "retrying": "Retrying", "needs_reauth": "Reconnect needed"}
STATUS_STYLES = {"queued": "secondary", "running": "primary", "succeeded": "success",
                 "failed": "danger", "retrying": "warning", "needs_reauth": "danger"}


def action_words(action, versions=None):
    """The log line's action in plain words; a conflict says whose version was kept."""
    if action == "conflict":
        winner = _winner(versions)
        if winner == "google":
            return "Conflict: Google version kept"
        if winner == "crm":
            return "Conflict: CRM version kept"
        return "Conflict"
    return _WORDS.get(action) or action.replace("_", " ").capitalize()


def _winner(versions):
    if not versions:
        return None
    try:
        return (json.loads(versions) or {}).get("winner")
    except (TypeError, ValueError, AttributeError):
        return None


def direction_words(direction):
    return _DIRECTIONS.get(direction, direction)


def status_label(status):
    return STATUS_LABELS.get(status, status)


def status_style(status):
    return STATUS_STYLES.get(status, "secondary")

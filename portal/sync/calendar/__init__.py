"""Calendar sync: Google Calendar events <-> CRM activities, per calendar mapping."""

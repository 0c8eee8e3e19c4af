"""The field-level three-way merge both syncs use: pure, no Flask, no database.

Each side of a record (the CRM's, Google's) is described as *field groups* in the CRM's own
terms, JSON-native values that compare exactly. The link remembers the groups both sides
agreed on at the last sync (the *base*). A group that differs from the base changed on that
side: changed on one side only, it is taken from that side; changed on both (to different
values), the mapping's conflict rule decides; a group a link may not carry in one direction
(Export or Import off, a guest's copy...) is left alone.
"""
from dataclasses import dataclass
from datetime import date, datetime

CRM = "crm"
GOOGLE = "google"

CONFLICT_CRM_WINS = "crm_wins"
CONFLICT_GOOGLE_WINS = "google_wins"
CONFLICT_MOST_RECENT = "most_recent"
CONFLICT_RULES = (CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS, CONFLICT_MOST_RECENT)

#: the version of the remembered base's format (a base of another format is not trusted)
BASE_VERSION = 2

_MISSING = object()


@dataclass(frozen=True)
class Rights:
    """The groups Google may change in the CRM (``read``) and the CRM may change in Google
    (``write``) through one link."""

    read: frozenset
    write: frozenset


def everything(groups, import_enabled=True, export_enabled=True):
    """Rights to carry every group both ways, less what a switch turned off."""
    groups = frozenset(groups)
    return Rights(groups if import_enabled else frozenset(),
                  groups if export_enabled else frozenset())


def winner(rule, crm_time, google_time):
    """Who wins a group changed on both sides: the rule's side, or the later edit (the CRM
    when a time is unknown)."""
    if rule == CONFLICT_GOOGLE_WINS:
        return GOOGLE
    if rule == CONFLICT_MOST_RECENT:
        if crm_time is not None and google_time is not None and google_time > crm_time:
            return GOOGLE
        return CRM
    return CRM


@dataclass
class Merge:
    """What :func:`merge` decided: groups to write to Google (``from_crm``), to the CRM
    (``from_google``), changed on both sides (``both``), agreed on (``agreed``), and the
    base to remember once written."""

    from_crm: list
    from_google: list
    both: list
    agreed: list
    base: dict

    @property
    def anything(self):
        return bool(self.from_crm or self.from_google)


def merge(groups, base, crm_now, google_now, allowed, win):
    """Three-way merge of ``groups`` against ``base`` (see the module docstring)."""
    from_crm, from_google, both, agreed = [], [], [], []
    for group in groups:
        mine, theirs = crm_now.get(group), google_now.get(group)
        if mine == theirs:
            agreed.append(group)
            continue
        old = base.get(group, _MISSING)
        crm_changed, google_changed = mine != old, theirs != old
        can_read, can_write = group in allowed.read, group in allowed.write
        if google_changed and not crm_changed:
            if can_read:
                from_google.append(group)
        elif crm_changed and not google_changed:
            if can_write:
                from_crm.append(group)
        elif can_read or can_write:
            both.append(group)
            if win == GOOGLE and can_read:
                from_google.append(group)
            elif win == CRM and can_write:
                from_crm.append(group)
    new_base = dict(base)
    for group in agreed:
        new_base[group] = crm_now[group]
    for group in from_google:
        new_base[group] = google_now[group]
    for group in from_crm:
        new_base[group] = crm_now[group]
    new_base["v"] = BASE_VERSION
    return Merge(from_crm, from_google, both, agreed, new_base)


def changed_groups(groups, base, crm_now, allowed):
    """The groups the CRM changed since ``base`` that the link may write to Google."""
    return [g for g in groups if g in allowed.write and g in base and crm_now[g] != base[g]]


def with_base_version(state):
    state = dict(state)
    state["v"] = BASE_VERSION
    return state


def usable(base):
    """``base`` if it is a base of this format, else None."""
    if isinstance(base, dict) and base.get("v") == BASE_VERSION:
        return base
    return None


def record(rule, crm_now, google_now, result, win):
    """The log record of a merge: both versions and where each group came from."""
    return {"rule": rule, "crm": jsonable(crm_now), "google": jsonable(google_now),
            "from_crm": result.from_crm, "from_google": result.from_google,
            "both_changed": result.both, "winner": win if result.both else None}


def summary(result):
    return (f"from CRM: {', '.join(result.from_crm) or 'nothing'}; "
            f"from Google: {', '.join(result.from_google) or 'nothing'}")


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value

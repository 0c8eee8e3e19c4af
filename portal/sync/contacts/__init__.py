"""Contacts <-> Google Contacts (People API): the same shape as the calendar sync."""

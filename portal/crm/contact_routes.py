"""Contact and tag pages, on the CRM blueprint."""
from portal.crm.blueprint import bp  # noqa: F401

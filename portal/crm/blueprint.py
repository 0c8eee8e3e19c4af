"""The CRM blueprint, shared by the activity and contact views."""
from flask import Blueprint

bp = Blueprint("crm", __name__)

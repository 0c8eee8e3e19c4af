"""Google-shaped errors.

Calendar answers ``{"error": {"code", "message", "errors": [...], "status"}}``; People uses the
same envelope and adds ``details`` only where Google does (EXPIRED_SYNC_TOKEN). Calendar errors
must never carry ``details``: googleapiclient would read it instead of ``errors``.
"""
from flask import jsonify

_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "ALREADY_EXISTS", 410: "GONE",
    412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    503: "UNAVAILABLE",
}

# Default (reason, message, domain) per status, used by faults and generic handlers.
DEFAULT_REASONS = {
    400: ("badRequest", "Bad Request", "global"),
    401: ("authError", "Invalid Credentials", "global"),
    403: ("rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    404: ("notFound", "Not Found", "global"),
    409: ("duplicate", "The requested identifier already exists.", "global"),
    410: ("deleted", "Resource has been deleted", "global"),
    412: ("conditionNotMet", "Precondition Failed", "global"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    500: ("backendError", "Backend Error", "global"),
    503: ("backendError", "The service is currently unavailable.", "global"),
}

_USAGE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded",
                  "dailyLimitExceeded"}


class ApiError(Exception):
    """An error answered in Google's JSON envelope."""

    def __init__(self, code, reason=None, message=None, domain=None, status=None,
                 details=None, location=None):
        d_reason, d_message, d_domain = DEFAULT_REASONS.get(code, ("error", "Error", "global"))
        self.code = code
        self.reason = reason or d_reason
        self.message = message or d_message
        if domain is None:
            domain = "usageLimits" if self.reason in _USAGE_REASONS else d_domain
        self.domain = domain
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.details = details
        self.location = location
        super().__init__(f"{code} {self.reason}: {self.message}")

    def body(self):
        err = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            err["location"] = self.location
            err["locationType"] = "parameter"
        out = {"code": self.code, "message": self.message, "errors": [err],
               "status": self.status}
        if self.details is not None:
            out["details"] = self.details
        return {"error": out}

    def response(self):
        resp = jsonify(self.body())
        resp.status_code = self.code
        return resp


class OAuthError(Exception):
    """An error of the token/revoke endpoints: ``{"error", "error_description"}``."""

    def __init__(self, code, error, description):
        self.code, self.error, self.description = code, error, description
        super().__init__(f"{code} {error}: {description}")

    def response(self):
        resp = jsonify({"error": self.error, "error_description": self.description})
        resp.status_code = self.code
        return resp


def bad_request(message, reason="invalid", location=None):
    return ApiError(400, reason, message, location=location)


def not_found(message="Not Found"):
    return ApiError(404, "notFound", message)

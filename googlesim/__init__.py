"""googlesim: a local fake of Google OAuth 2.0, Calendar v3 and People v1 for tests,
demos and benchmarks. See README.md."""
from .app import create_app

__all__ = ["create_app"]

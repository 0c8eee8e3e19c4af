"""Job tests reuse the sync fixtures (googlesim-connected users, mappings, workers)."""
import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "_sync_fixtures", pathlib.Path(__file__).parents[1] / "sync" / "conftest.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

google_base = _module.google_base
configured = _module.configured
connect_user = _module.connect_user
work = _module.work
sync = _module.sync

"""SQLAlchemy models, migrations and every query, one module per record kind."""

# The /stats rollups are kept by an after_flush hook on every ORM session: registered with
# the package, so that no process writing visits, check-ins, problems or summaries can miss it.
import storage.rollups  # noqa: F401

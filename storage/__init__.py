"""SQLAlchemy models, migrations and every query, one module per record kind."""

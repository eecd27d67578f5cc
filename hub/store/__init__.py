"""Persistence: tables (SQLAlchemy Core), the database handle and migrations."""

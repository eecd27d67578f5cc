"""Workspace data tables: typed columns, a unique key, rows sealed at rest.

``catalog`` (definitions), ``rows`` (writes), ``query`` (reads), ``csvio`` (import/export) take
a ``backend.Store`` (database, payload codec, index keys, limits); ``access`` binds them to a
run's workspace as ``StepContext.tables``.
"""

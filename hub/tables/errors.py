"""The data tables' errors, each with a stable code (API status in brackets).

``invalid_row`` [422], ``value_too_large`` [422], ``duplicate_key`` [409], ``row_not_found``
[404], ``table_not_found`` [404], ``table_name_taken`` [409], ``too_many_tables`` [409],
``table_full`` [409], ``invalid_filter`` [422], ``filter_too_broad`` [422], ``table_in_use``
[409], ``invalid_csv`` [422], ``invalid_schema`` [422] (in ``hub.tables.schema``).
"""

from __future__ import annotations

from hub.errors import HubError


class TableError(HubError):
    status = 422
    title = "Data table error"


class RowInvalid(TableError):
    code = "invalid_row"
    title = "Invalid row"


class ValueTooLarge(TableError):
    code = "value_too_large"
    title = "Value too large"


class DuplicateKey(TableError):
    code = "duplicate_key"
    status = 409
    title = "Duplicate key"


class RowNotFound(TableError):
    code = "row_not_found"
    status = 404
    title = "Row not found"


class TableNotFound(TableError):
    code = "table_not_found"
    status = 404
    title = "Table not found"


class TableConflict(TableError):
    """``table_name_taken``, ``too_many_tables``, ``table_full``, ``table_in_use``."""

    code = "table_conflict"
    status = 409
    title = "Table conflict"


class FilterInvalid(TableError):
    code = "invalid_filter"
    title = "Invalid filter"


class FilterTooBroad(TableError):
    code = "filter_too_broad"
    title = "Filter too broad"


class CsvInvalid(TableError):
    code = "invalid_csv"
    title = "Invalid CSV"

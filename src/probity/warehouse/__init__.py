"""The analytics warehouse: Ibis connections on DuckDB (default) or PySpark, and the table catalogue."""

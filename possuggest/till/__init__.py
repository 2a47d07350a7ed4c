"""Till access, read-only: the reference schema, the SQLite reader with schema mapping, and the open-sale watcher."""

"""Till access, read-only: the reference schema, the SQLite reader with schema mapping, the
server reader (till.url), and the open-sale watcher."""

# registers the reader of a till on a database server with till.reader (no cycle)
from possuggest.till import server as _server  # noqa: F401

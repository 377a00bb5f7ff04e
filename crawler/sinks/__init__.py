"""Where posts and alerts go: the embedded SQLite store by default, Elasticsearch when configured."""

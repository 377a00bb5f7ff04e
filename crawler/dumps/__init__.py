"""Leaked dumps as streams: compressed files and archives opened in memory, never extracted."""

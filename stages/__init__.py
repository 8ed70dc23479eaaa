"""DVC stage entry points: each reads its params section, calls the gitml library, writes outputs."""

"""The command line of the whole system: run it, serve one part of it, migrate, seed."""

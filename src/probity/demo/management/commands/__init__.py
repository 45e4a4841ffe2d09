"""The `probity demo` command."""

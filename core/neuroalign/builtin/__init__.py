"""Built-in plugins: the core registers its own features through the same hooks as plugins."""

"""neuroalign-example: a tiny plugin implementing every neuroalign hook (see docs/plugins.md).

Importing this package imports nothing heavy: the hooks in :mod:`neuroalign_example.plugin`
only build specs, and each runtime class lives in its own module, imported when first used.
"""

__version__ = "0.1.0"

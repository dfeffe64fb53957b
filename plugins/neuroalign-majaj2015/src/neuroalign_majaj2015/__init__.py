"""neuroalign-majaj2015: Majaj, Hong et al. (2015) V4 and IT benchmarks.

Datasets ``MajajHong2015.public`` / ``MajajHong2015.private`` (Brain-Score's published files, or
their synthetic twins), and benchmarks ``MajajHong2015.{V4,IT}-{pls,ridge}``.
"""

__version__ = "0.1.0"

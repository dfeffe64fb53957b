"""neuroalign-rajalingham2018: Rajalingham et al. (2018) behavior and the Brain-Score 2018 composite.

Datasets ``Rajalingham2018.public`` / ``Rajalingham2018.private`` (Brain-Score's published files,
or their synthetic twins), benchmark ``Rajalingham2018-i2n``, the composite ``Brain-Score2018``
(paper 004: mean of V4, IT and behavior) and its aggregator ``flat_mean``.
"""

__version__ = "0.1.0"

"""neuroalign-freemanziemba2013: Freeman, Ziemba et al. (2013) V1 and V2 benchmarks.

Datasets ``FreemanZiemba2013.public`` / ``FreemanZiemba2013.private`` (Brain-Score's published
files, or their synthetic twins), benchmarks ``FreemanZiemba2013.{V1,V2}-pls`` (reported) and
``FreemanZiemba2013public.{V1,V2}-pls`` (public split, used to commit layers), and the paper-000
composite ``BrainScore2022.neural-behavioral`` (V1, V2, V4, IT and behavior, five-part mean).
"""

__version__ = "0.1.0"

"""Benchmark ``Rajalingham2018-i2n`` (Brain-Score's id and version 2).

brainscore-vision 2.4.2 ``benchmarks/rajalingham2018``: the model's read-out is fit on the 2,160
``objectome.public`` images (labels: ``image_label``), probabilities on the 240
``objectome.private`` images shown at 8 degrees, ``i2n`` against ``Rajalingham2018.private``,
ceiled per split by ``i2n_split_half`` (``r / sqrt(ceiling)``), mean over the two splits. The
machinery is :class:`neuroalign_behavior.ProbabilitiesBenchmark`; this class says where the task
comes from.
"""

from __future__ import annotations

from neuroalign_behavior.benchmark import BehavioralTask, ProbabilitiesBenchmark

from .specs import benchmark_specs

__all__ = ["Rajalingham2018Benchmark", "benchmark_specs"]


class Rajalingham2018Benchmark(ProbabilitiesBenchmark):
    """Rajalingham 2018 I2n (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``dataset`` (the trials, ``Rajalingham2018.private``), ``metric``, ``ceiling``,
        ``visual_degrees`` and, in ``parameters``, ``fitting_dataset``
        (``Rajalingham2018.public``: its images fit the read-out) and ``reduction``.
    """

    def load_task(self) -> BehavioralTask:
        """Fitting images + labels (public), test images and trials (private)."""
        from neuroalign import get_dataset

        fitting = get_dataset(self.spec.parameters.get("fitting_dataset",
                                                       "Rajalingham2018.public"))
        reported = get_dataset(self.spec.dataset)
        fitting_stimuli = fitting.stimuli()
        return BehavioralTask(
            fitting_stimuli=fitting_stimuli,
            fitting_labels=fitting_stimuli.metadata["image_label"].astype(str).tolist(),
            stimuli=reported.stimuli(), trials=reported.load(), name=self.spec.dataset,
            sha256={**{k: v for k, v in fitting.sha256.items() if not k.endswith("/assembly")},
                    **reported.sha256})

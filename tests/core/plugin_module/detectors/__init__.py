from collections.abc import Iterator, Mapping
from typing import Any

from probity.core.detectors import Detector, Judgement, Parameter, register


@register
class PluginThingDetector(Detector):
    """Flags every plug-in thing whose number is above the threshold."""

    code = "PLUGIN-THING"
    title = "Plug-in thing above threshold"
    description = "Flags plug-in things above a threshold."
    subject_type = "plugin_thing"
    fields = ("thing.number",)
    parameters = (Parameter("threshold", 1, "the threshold", int),)

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        for key, number in (("a", 0), ("b", 5)):
            outcome = "flag" if number > params["threshold"] else "pass"
            yield Judgement("plugin_thing", key, outcome, "Number %(n)d.", {"n": number})

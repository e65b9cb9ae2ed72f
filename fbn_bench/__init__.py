"""fbn-bench: benchmark holistic facial behaviour analysis (FaceBehaviorNet)."""

from .errors import FbnError
from .hookspecs import hookimpl
from .specs import BackboneSpec, CouplingSpec, DatasetSpec, MetricSpec, RunInfo
from .tasks import AU_COLUMNS, AUS, EXPRESSIONS, TASKS

__version__ = "0.1.0"

__all__ = [
    "AUS",
    "AU_COLUMNS",
    "EXPRESSIONS",
    "TASKS",
    "BackboneSpec",
    "CouplingSpec",
    "DatasetSpec",
    "MetricSpec",
    "RunInfo",
    "FbnError",
    "hookimpl",
    "__version__",
]

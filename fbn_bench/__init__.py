"""fbn-bench: benchmark holistic facial behaviour analysis (FaceBehaviorNet)."""

from .errors import FbnError
from .hookspecs import hookimpl
from .options import IMAGE_SIZE, Option, ResolvedPlugin
from .specs import (
    BackboneSpec,
    CompoundClass,
    CouplingSpec,
    DatasetSpec,
    DetectorSpec,
    MetricSpec,
    RunInfo,
    ZeroShotSpec,
)
from .tasks import AU_COLUMNS, AUS, EXPRESSIONS, TASKS

__version__ = "0.1.0"

__all__ = [
    "AUS",
    "AU_COLUMNS",
    "EXPRESSIONS",
    "TASKS",
    "IMAGE_SIZE",
    "Option",
    "ResolvedPlugin",
    "BackboneSpec",
    "CompoundClass",
    "ZeroShotSpec",
    "CouplingSpec",
    "DatasetSpec",
    "DetectorSpec",
    "MetricSpec",
    "RunInfo",
    "FbnError",
    "hookimpl",
    "__version__",
]

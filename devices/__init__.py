"""The device a run trains on and how precisely: chosen before Keras starts, checked, recorded.

devices/selection.py (--device), devices/precision.py (--precision), devices/sharing.py (the environment of
runs that share GPUs). Only the standard library is imported here; JAX and TensorFlow inside the functions.
"""

from devices.precision import DEFAULT_PRECISION, PRECISIONS, apply_precision
from devices.selection import (
    DEFAULT_DEVICE,
    DEVICES,
    Device,
    DeviceError,
    check,
    current,
    describe_current,
    prepare,
    visible_gpus,
)

__all__ = ["DEFAULT_DEVICE", "DEFAULT_PRECISION", "DEVICES", "PRECISIONS", "Device", "DeviceError",
           "apply_precision", "check", "current", "describe_current", "prepare", "visible_gpus"]

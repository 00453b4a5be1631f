"""`--precision float32|tf32`: how float32 matrix products and convolutions are computed.

On NVIDIA GPUs since Ampere, JAX computes float32 products and convolutions in TF32 (10-bit mantissa) unless
told otherwise, and TensorFlow does too; results then differ from a CPU's, and from the 2020 code, which ran in
float32, far beyond float32 rounding. float32 (the default) asks for full float32 on every backend; tf32 is the
faster opt-in, recorded in the run's logs and part of its identity. A CPU computes float32 whatever the setting,
so tf32 there is refused rather than recorded for numbers it did not produce.
"""

PRECISIONS = ("float32", "tf32")
DEFAULT_PRECISION = "float32"
# jax_default_matmul_precision's names: "float32" is Precision.HIGHEST, "tensorfloat32" Precision.HIGH.
JAX_PRECISION = {"float32": "float32", "tf32": "tensorfloat32"}


def apply_precision(backend, precision, platform):
    """Sets the backend's precision for this process before anything compiles; DeviceError when `precision`
    cannot hold on `platform` ("cpu" or "gpu")."""
    from devices.selection import DeviceError
    if precision not in PRECISIONS:
        raise DeviceError(f"--precision {precision} is not one of {', '.join(PRECISIONS)}.")
    if precision == "tf32" and platform != "gpu":
        raise DeviceError("--precision tf32 is for NVIDIA GPUs (Ampere and newer), and this run trains on the CPU, "
                          "which computes float32 whatever the setting: leave --precision out.")
    if backend == "jax":
        import jax
        jax.config.update("jax_default_matmul_precision", JAX_PRECISION[precision])
    else:
        import tensorflow as tf
        tf.config.experimental.enable_tensor_float_32_execution(precision == "tf32")

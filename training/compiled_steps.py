"""The compiled steps of Keras' current backend (training/steps.py says what they do)."""

import keras


def compiled_steps(model, optimizer, x_train, y_train, masked_layers, jit_compile=True, track_gradients=False):
    """The steps for Keras' current backend. jit_compile: XLA on TensorFlow (JAX always compiles with XLA).
    track_gradients: also add |dL/dkernel| of every step into one sum per masked layer (K-starts' fitness)."""
    if keras.backend.backend() == "jax":
        from training.steps_jax import JaxSteps as steps_class
    elif keras.backend.backend() == "tensorflow":
        from training.steps_tensorflow import TensorFlowSteps as steps_class
    else:
        raise ValueError(f"Keras runs on {keras.backend.backend()}; this tool supports the tensorflow and jax "
                         "backends (set KERAS_BACKEND or --backend).")
    return steps_class(model, optimizer, x_train, y_train, masked_layers, jit_compile=jit_compile,
                       track_gradients=track_gradients)

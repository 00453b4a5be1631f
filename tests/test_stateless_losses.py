"""The layers' own losses on JAX (JaxSteps.stateless_call) are every layer's, whatever ids earlier calls' tensors had.

Keras' `model.stateless_call(..., return_losses=True)` lets each layer clear its losses as it enters, dropping every
collected tensor whose id its previous call recorded; a loss added before it at a freed tensor's address is lost.
Here one tensor object outlives the calls, so that the id is reused for sure: the second layer adds it in the first
call, the first layer adds it in the second call. Keras' stateless_call then returns [2.0] for the second call.

JAX runs in a subprocess (this test process runs Keras on TensorFlow; a process has one backend).
"""

import json
import os
import subprocess
import sys

from conftest import REPOSITORY

SCRIPT = """
import json, types
import jax.numpy as jnp, keras
from keras import ops
from training.steps_jax import JaxSteps

SHARED = jnp.ones(())  # one tensor object for every call, so that its id is the same in each
CALL = [0]


class AddsLosses(keras.layers.Layer):
    def __init__(self, role, **kwargs):
        super().__init__(**kwargs)
        self.role = role

    def call(self, inputs):
        if self.role == "first" and CALL[0] == 1:
            self.add_loss(SHARED)
        if self.role == "second":
            self.add_loss(SHARED if CALL[0] == 0 else 2.0 * ops.mean(inputs))
        return inputs


inputs = keras.Input((1,))
model = keras.Model(inputs, AddsLosses("second")(AddsLosses("first")(inputs)))
steps = types.SimpleNamespace(model=model, trainable=[], non_trainable=[])
losses = []
for CALL[0] in (0, 1):
    losses.append([float(loss) for loss in JaxSteps.stateless_call(steps, [], [], jnp.ones((1, 1)), False)[2]])
print(json.dumps(losses))
"""


def test_a_layer_loss_at_a_reused_id_is_kept():
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    finished = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPOSITORY, env=environment, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == [[1.0], [1.0, 2.0]]

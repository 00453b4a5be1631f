"""Trains a few steps of each case on a given Keras backend from given initial values (run as a script, one
process per backend: Keras' backend is fixed when it is imported).

    python tests/backend_steps.py BACKEND FOLDER

For each case, FOLDER/initial_CASE.npz holds the initial values of the model's variables (when missing, the
case's own are used and written there), and FOLDER/BACKEND_CASE.npz receives every model variable after
the steps, each step's loss and correct count, the gradient sums, the mask counts and the evaluation of
the data, so that tests can compare the backends number by number.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cli.keras_backend import select_backend  # noqa: E402

# name: (network, input shape, method, mask type, fixed-mask fraction kept or None, track gradients, augmentation,
#        optimizer: (--optimizer, --momentum, --weight-decay))
ADAM = ("adam", 0.9, 0.0)
CASES = {
    "lenet-minpruning": ("LeNet", (28, 28, 1), "MinPruning", "mask_rs", None, False, False, ADAM),
    "lenet-freeflipping": ("LeNet", (28, 28, 1), "FreeFlipping", "flip", None, False, False, ADAM),
    "lenet-baseline": ("LeNet", (28, 28, 1), "Baseline", "mask", None, False, False, ADAM),
    "lenet-fixed-mask-gradients": ("LeNet", (28, 28, 1), "KStarts", "mask", 0.5, True, False, ADAM),
    "conv2-freepruning": ("Conv2", (8, 8, 3), "FreePruning", "mask", None, False, False, ADAM),
    # PyTorch's SGD: the momentum buffer and coupled weight decay (training/optimizers.py).
    "lenet-freepruning-sgd": ("LeNet", (28, 28, 1), "FreePruning", "mask", None, False, False, ("sgd", 0.9, 5e-4)),
    # edge-popup: top-k of |score| per layer, Kaiming-uniform scores, signed-constant weights.
    "conv2-edgepopup": ("Conv2", (8, 8, 3), "EdgePopup", "topk", None, False, False, ADAM),
    # Zhou's supermask: Bernoulli draws from the hash of (seed, step) agree across backends and packs.
    "lenet-supermask": ("LeNet", (28, 28, 1), "Supermask", "sample", None, False, False, ADAM),
    # BatchNorm's moving statistics threaded through the JAX steps, and the augmentation inside them.
    "resnet8-minpruning-augmented": ("ResNet8", (8, 8, 3), "MinPruning", "mask", None, False, True, ADAM),
}
STEPS, BATCH, LEARNING_RATE = 6, 10, 1e-3


def main(backend, folder):
    select_backend(backend)
    for case in CASES:
        train_case(case, os.path.join(folder, f"initial_{case}.npz"), os.path.join(folder, f"{backend}_{case}.npz"))


def train_case(case, initial_path, result_path):
    import numpy as np

    from masking import masked_layers
    from methods import family_of, get_method
    from networks import build_network
    from training.augmentation import draw_shifts
    from training.batches import epoch_batches
    from training.compiled_steps import compiled_steps
    from training.optimizers import build_optimizer

    nettype, input_shape, traintype, masktype, kept, track, augmented, optimizer = CASES[case]
    generator = np.random.default_rng(7)
    images = generator.normal(size=(STEPS * BATCH - 4, *input_shape)).astype("float32")
    labels = generator.integers(0, 10, size=len(images)).astype("int32")
    masking = family_of(traintype).masking_options(get_method(traintype), masktype,
                                                 family_of(traintype).settings_class())
    model = build_network(nettype, input_shape, seed=3, masking=masking,
                          xla=True)
    layers = masked_layers(model)
    if kept is not None:
        for layer in layers:
            layer.set_fixed_mask((generator.random(layer.kernel.shape) < kept).astype("float32"))
    if os.path.exists(initial_path):
        with np.load(initial_path) as initial:
            for index, variable in enumerate(model.variables):
                variable.assign(initial[f"v{index}"])
    else:
        np.savez(initial_path, **{f"v{index}": np.asarray(v) for index, v in enumerate(model.variables)})
    steps = compiled_steps(model, build_optimizer(optimizer[0], LEARNING_RATE, *optimizer[1:]), images, labels, layers,
                           jit_compile=True, track_gradients=track)
    indices, weights = epoch_batches(np.random.default_rng(0), len(images), BATCH)
    shifts = draw_shifts(1, 0, indices.shape, *input_shape[:2]) if augmented else None
    first_losses, first_correct = steps.train_steps(indices, weights, 0, 2, shifts)
    rest_losses, rest_correct = steps.train_steps(indices, weights, 2, len(indices), shifts)
    loss, accuracy = steps.evaluate(images, labels)
    np.savez(result_path, losses=np.concatenate([first_losses, rest_losses]),
             correct=np.concatenate([first_correct, rest_correct]), evaluation=np.array([loss, accuracy]),
             counts=np.asarray(steps.mask_counts()),
             **{f"v{index}": np.asarray(v) for index, v in enumerate(model.variables)},
             **{f"g{index}": value for index, value in enumerate(steps.gradient_values())})


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""Trains each case's members solo and packed (training/steps_packed.py) from the same initial values and
batches, on JAX, and writes both results for tests/test_pack.py to compare (run as a script: a process has one
Keras backend, and the test process runs TensorFlow).

    python tests/packed_steps.py FOLDER

FOLDER/CASE.npz receives, per member, every model and optimizer variable after the steps, each step's loss and
correct count, the mask counts and the evaluation of the data, solo (prefix s) and packed in each form of
training/pack_forms.py (prefix: the form's name).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend_steps import CASES  # noqa: E402  (the networks, methods and options the backends are compared on)
from cli.keras_backend import select_backend  # noqa: E402

STEPS, BATCH = 6, 10
# The forms each case packs in (training/pack_forms.py): vmap every case (a GPU packs every network so); unrolled, the
# form of convolutions on a CPU, and folded, the gradient of the members' summed losses, the cases where a member's
# step differs most from a plain one (convolutions, BatchNorm with augmentation, sampled masks, tracked gradients).
CHECKED_FORMS = {"conv2-freepruning": ("unrolled", "folded"), "resnet8-minpruning-augmented": ("unrolled", "folded"),
                 "lenet-supermask": ("unrolled",), "lenet-fixed-mask-gradients": ("folded",)}
FORMS = {case: ("vmap", *CHECKED_FORMS.get(case, ())) for case in CASES}
# Members differ in seed (initial values, data order, augmentation) and learning rate.
MEMBERS = ((3, 1e-3), (4, 3e-3))


def member_steps(case, seed, learning_rate, images, labels):
    import numpy as np

    from masking import masked_layers
    from methods import family_of, get_method
    from networks import build_network
    from training.compiled_steps import compiled_steps
    from training.optimizers import build_optimizer

    nettype, input_shape, traintype, masktype, kept, track, _, optimizer = CASES[case]
    masking = family_of(traintype).masking_options(get_method(traintype), masktype,
                                                 family_of(traintype).settings_class())
    model = build_network(nettype, input_shape, seed=seed, masking=masking,
                          xla=True)
    layers = masked_layers(model)
    if kept is not None:
        generator = np.random.default_rng(seed)
        for layer in layers:
            layer.set_fixed_mask((generator.random(layer.kernel.shape) < kept).astype("float32"))
    return model, compiled_steps(model, build_optimizer(optimizer[0], learning_rate, *optimizer[1:]), images, labels,
                                 layers, jit_compile=True, track_gradients=track)


def train_case(case, result_path):
    import numpy as np

    from training.augmentation import draw_shifts
    from training.batches import epoch_batches
    from training.pack_forms import FORM_VARIABLE
    from training.steps_packed import PackedJaxSteps

    _, input_shape, _, _, _, _, augmented, _ = CASES[case]
    generator = np.random.default_rng(7)
    images = generator.normal(size=(STEPS * BATCH - 4, *input_shape)).astype("float32")  # a partial last batch
    labels = generator.integers(0, 10, size=len(images)).astype("int32")
    solo, batches = [], []
    for seed, learning_rate in MEMBERS:
        solo.append(member_steps(case, seed, learning_rate, images, labels))
        indices, weights = epoch_batches(np.random.default_rng(seed), len(images), BATCH)
        shifts = draw_shifts(seed, 0, indices.shape, *input_shape[:2]) if augmented else None
        batches.append((indices, weights, shifts))
    results = {}
    for member, ((model, steps), (indices, weights, shifts)) in enumerate(zip(solo, batches)):
        losses, correct = steps.train_steps(indices, weights, 0, len(indices), shifts)
        results.update(member_results(f"s{member}", model, steps, losses, correct, images, labels))
    for form in FORMS[case]:
        packed = [member_steps(case, seed, learning_rate, images, labels) for seed, learning_rate in MEMBERS]
        os.environ[FORM_VARIABLE] = form
        pack = PackedJaxSteps([steps for _, steps in packed])
        del os.environ[FORM_VARIABLE]
        assert pack.form == form
        results.update(train_pack(pack, packed, batches, images, labels, form))
    np.savez(result_path, **results)


def train_pack(pack, packed, batches, images, labels, prefix):
    """Trains the pack on the members' batches in two calls (two steps, then the rest); each member's results."""
    import numpy as np
    results = {}
    stacked = [np.stack([batch[part] for batch in batches]) for part in (0, 1)]
    shifts = None if batches[0][2] is None else np.stack([batch[2] for batch in batches])
    state, first_losses, first_correct = pack.train_steps(pack.stacked_state(), *stacked, 0, 2, shifts)
    state, rest_losses, rest_correct = pack.train_steps(state, *stacked, 2, len(batches[0][0]), shifts)
    pack.store(state)
    evaluations = pack.evaluate(state, images, labels)
    counts = pack.mask_counts(state)
    for member, (model, steps) in enumerate(packed):
        results.update(member_results(f"{prefix}{member}", model, steps, np.concatenate([first_losses[member],
                                      rest_losses[member]]), np.concatenate([first_correct[member],
                                      rest_correct[member]]), None, None))
        results[f"{prefix}{member}_evaluation"] = np.array(evaluations[member])
        results[f"{prefix}{member}_counts"] = counts[member]
    return results


def member_results(prefix, model, steps, losses, correct, images, labels):
    import numpy as np
    results = {f"{prefix}_losses": np.asarray(losses), f"{prefix}_correct": np.asarray(correct),
               **{f"{prefix}_v{index}": np.asarray(v) for index, v in enumerate(model.variables)},
               **{f"{prefix}_o{index}": np.asarray(v) for index, v in enumerate(steps.optimizer.variables)},
               **{f"{prefix}_g{index}": value for index, value in enumerate(steps.gradient_values())}}
    if images is not None:
        results[f"{prefix}_evaluation"] = np.array(steps.evaluate(images, labels))
        results[f"{prefix}_counts"] = np.asarray(steps.mask_counts())
    return results


def main(folder):
    select_backend("jax", "cpu")
    for case in CASES:
        train_case(case, os.path.join(folder, f"{case}.npz"))


if __name__ == "__main__":
    main(sys.argv[1])

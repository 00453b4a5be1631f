"""Whether vmapped convolutions are what makes a Conv6 pack slow, and what the alternatives cost: one training step
of Conv6's convolutions for N members in five forms, timed side by side on JAX (bench/pack_speed.py --conv-forms N,
and the GPU check's conv-forms row). Bench-only code: the product's pack forms are training/pack_forms.py's."""

import statistics
import time

from runs import BATCH_SIZE

# Conv6: the six convolutions' channels (3 in), max-pooling after every second one, 32x32 images.
CONV6_CHANNELS = (3, 64, 64, 128, 128, 256, 256)
CONV_FORMS = ("loop", "vmap", "folded", "lax.map", "unrolled")


def conv_forms(members, batch_size=BATCH_SIZE, repetitions=1, forms=CONV_FORMS, print_line=print,
               after_form=lambda results: None):
    """Seconds per training step of all `members` together (forward + backward of Conv6's convolutions, loss = sum of
    squares of the last feature map) in each form; the first call of each form (compilation) is not timed, the median
    of `repetitions` calls is. {form: {"seconds", "per_member_s", "over_loop", "compile_s"}}. Bench-only code: the
    product packs with `vmap` alone."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def network(kernels, images):
        values = images
        for index, kernel in enumerate(kernels):
            values = jax.nn.relu(lax.conv_general_dilated(values, kernel, (1, 1), "SAME",
                                                          dimension_numbers=("NHWC", "HWIO", "NHWC")))
            if index % 2 == 1:
                values = lax.reduce_window(values, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        return jnp.sum(values ** 2)

    def folded_network(kernels, images):  # images (N, B, H, W, C) -> (B, H, W, N*C); kernels (N, 3, 3, I, O)
        count = images.shape[0]
        values = jnp.moveaxis(images, 0, 3).reshape(*images.shape[1:4], -1)
        for index, kernel in enumerate(kernels):
            grouped = jnp.moveaxis(kernel, 0, 3).reshape(*kernel.shape[1:4], count * kernel.shape[4])
            values = jax.nn.relu(lax.conv_general_dilated(values, grouped, (1, 1), "SAME",
                                                          dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                                          feature_group_count=count))
            if index % 2 == 1:
                values = lax.reduce_window(values, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        return jnp.sum(values ** 2)

    gradient = jax.grad(network)
    keys = jax.random.split(jax.random.PRNGKey(0), members * 7).reshape(members, 7, -1)
    kernels = [[jax.random.normal(keys[member, layer], (3, 3, CONV6_CHANNELS[layer], CONV6_CHANNELS[layer + 1]))
                * (2 / (9 * CONV6_CHANNELS[layer])) ** 0.5 for layer in range(6)] for member in range(members)]
    images = [jax.random.normal(keys[member, 6], (batch_size, 32, 32, 3)) for member in range(members)]
    stacked_kernels = [jnp.stack([member[layer] for member in kernels]) for layer in range(6)]
    stacked_images = jnp.stack(images)
    solo = jax.jit(gradient)
    vmapped = jax.jit(jax.vmap(gradient))
    folded = jax.jit(jax.grad(folded_network))
    mapped = jax.jit(lambda stacked, batches: lax.map(lambda member: gradient(*member), (stacked, batches)))
    unrolled = jax.jit(lambda all_kernels, all_images: [gradient(k, x) for k, x in zip(all_kernels, all_images)])
    calls = {"loop": lambda: [solo(k, x) for k, x in zip(kernels, images)],
             "vmap": lambda: vmapped(stacked_kernels, stacked_images),
             "folded": lambda: folded(stacked_kernels, stacked_images),
             "lax.map": lambda: mapped(stacked_kernels, stacked_images),
             "unrolled": lambda: unrolled(kernels, images)}
    results = {}
    for form in forms:
        started = time.perf_counter()
        jax.block_until_ready(calls[form]())
        first = time.perf_counter() - started
        seconds = []
        for _ in range(repetitions):
            started = time.perf_counter()
            jax.block_until_ready(calls[form]())
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds)
        results[form] = {"seconds": round(median, 5), "per_member_s": round(median / members, 5),
                         "compile_s": round(max(first - median, 0.0), 3), "all_s": [round(s, 5) for s in seconds]}
        if "loop" in results:
            results[form]["over_loop"] = round(median / results["loop"]["seconds"], 3)
        print_line(f"  conv forms, {members} members, batch {batch_size}: {form:9s} {median:8.4f} s per step of all "
                   f"members ({results[form].get('over_loop', 1.0):.2f}x the loop)")
        after_form(results)
    return results

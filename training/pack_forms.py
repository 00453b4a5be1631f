"""The forms in which a pack's compiled program computes its members, and the one each device and network takes.

- `vmap`: `jax.vmap` over the members' stacked values. XLA batches a dense layer's products into one larger
  product, which pays on a GPU; it turns the vmapped convolutions into grouped ones, which XLA's CPU backend runs
  far slower than the members' own convolutions (measured below).
- `unrolled`: the members one after another inside the one compiled program (a Python loop under `jax.jit`): each
  member's operations are its solo run's, one call runs them all.
- `folded`: a training step is the gradient of the sum of the members' losses, their forward passes vmapped: XLA
  then differentiates the members' convolutions as grouped ones (the members folded into the channels,
  feature_group_count), the form measured fastest for Conv6's convolutions on an H200 (below), where vmapping each
  member's gradient was not. Evaluation and mask counts are vmapped. Not yet chosen anywhere: the whole epoch on a
  GPU is still to be measured (bench/pack_speed.py --forms vmap,folded).

A solo run (a pack of one) is neither: its program is the run's own (steps_packed.member_map). The choice
(chosen_form), by the measurements below: on a CPU, unrolled for a network with convolutions and for packs of more
than 4; vmap otherwise, and on a GPU.

Measured (bench/results/), runs per hour of whole epochs (training, evaluation, logs) against one solo run's:
- CPU, 2 cores (pack_forms.md, 2026-12-07): Conv6 at N = 2 and 4, vmap 0.31x and 0.27x, unrolled 1.09x and 1.11x;
  LeNet at N = 4, vmap 1.12x, unrolled 1.08x; at N = 16, vmap 0.72x, unrolled 1.07x.
- H200 (gpu_check_pack.md, 2026-12-04): LeNet with vmap 2.5x at N = 4, 5.3x at N = 64; a Conv6 pack of 8 with vmap
  0.97x. Conv6's convolutions alone, 8 members: vmap 0.98x the members' own steps, unrolled 1.0x, the members folded
  into the channels by hand 0.57x (what the folded form asks XLA for).

MASKTRAINER_PACK_FORM (vmap, unrolled or folded) overrides the choice, for measuring the forms
(bench/pack_speed.py --forms); every form trains each member exactly as its solo run (tests/test_pack.py).
"""

import os

PACK_FORMS = ("vmap", "unrolled", "folded")
FORM_VARIABLE = "MASKTRAINER_PACK_FORM"


class PackFormError(ValueError):
    """MASKTRAINER_PACK_FORM names no form; one sentence."""


def chosen_form(platform, convolutional, members, environ=None):
    """The form of a pack of `members` runs on `platform` (JAX's default backend: cpu, gpu), `convolutional` when the
    network has a convolution layer."""
    environ = os.environ if environ is None else environ
    override = environ.get(FORM_VARIABLE)
    if override:
        if override not in PACK_FORMS:
            raise PackFormError(f"{FORM_VARIABLE} is {override}, which is not a pack form; set it to "
                                f"{', '.join(PACK_FORMS[:-1])} or {PACK_FORMS[-1]}, or unset it to let the pack "
                                "choose.")
        return override
    if platform == "cpu" and (convolutional or members > 4):
        return "unrolled"
    return "vmap"

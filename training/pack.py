"""Which runs may train in one pack (`--pack N`, training/driver.py).

What may differ between members is what the compiled program takes as values, not as its shape: the seed
(hence initial weights, scores, data order, augmentation and a method's random choices), p1, the initializer,
the learning rate and its drops. `pack_signature` is everything else, so members also share every setting that
shapes their phases (rounds, candidates, selection epochs); runs pack together only when it is equal.
"""

# Settings a pack's members may differ in (values inside the compiled program, not its shape).
MAY_DIFFER = ("seed", "p1", "initializer", "lr", "lr_drops", "lr_schedule")


def pack_signature(config):
    """The settings runs must share to train in one pack."""
    return tuple(sorted((name, value) for name, value in config.identity().items() if name not in MAY_DIFFER))

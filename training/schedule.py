"""The learning rate of each epoch (--lr-schedule).

step: the 2020 ResNet training's schedule, the rate divided by 10 at given epochs (--lr-drops). Epochs count from
1, as in the logs (entry 0 is the untrained network): with drops at 80, 120 and 160 and --lr 1e-3, epochs 1-79
train at 1e-3, 80-119 at 1e-4, 120-159 at 1e-5 and 160 on at 1e-6. Without drops the rate is constant.

cosine: hidden-networks' cosine_lr without warm-up, set once per epoch: epoch e of E trains at
--lr * (1 + cos(pi * (e - 1) / E)) / 2, so the first epoch at --lr and the last just above 0.
"""

import math

LR_SCHEDULES = ("step", "cosine")
NO_DROPS = "none"
RESNET_DROPS = "80,120,160"


def parse_drops(text):
    """'80,120,160' -> (80, 120, 160); 'none' -> (). ValueError (one sentence) otherwise."""
    if text.strip().lower() == NO_DROPS:
        return ()
    try:
        epochs = tuple(int(part) for part in text.split(","))
    except ValueError:
        epochs = ()
    if not epochs or any(epoch < 1 for epoch in epochs) or list(epochs) != sorted(set(epochs)):
        raise ValueError(f"--lr-drops takes increasing epoch numbers of at least 1, separated by commas "
                         f"(e.g. {RESNET_DROPS}), or {NO_DROPS}; got '{text}'.")
    return epochs


def canonical_drops(text):
    """The form stored in logs and compared in a run's identity: '80,120,160' or 'none'."""
    return ",".join(str(epoch) for epoch in parse_drops(text)) or NO_DROPS


def learning_rate_at(epoch, base_rate, drops, schedule="step", epochs=None):
    """The learning rate of epoch `epoch` (from 1): step, base_rate divided by 10 for every drop epoch reached;
    cosine, base_rate on the half cosine over `epochs`."""
    if schedule == "cosine":
        return base_rate * (1 + math.cos(math.pi * (epoch - 1) / epochs)) / 2
    return base_rate / 10 ** sum(epoch >= drop for drop in drops)

"""The runner's side of one writer per run (results/claims.py): every run is claimed before anything about it is
decided or written, and held until its process is done with it."""

from results import claims
from results.claims import RunClaimed


def claim_file(config):
    """The claim file of a RunConfig's run (its seed fixed)."""
    return claims.claim_path(config.folder(), config.identity())


def describe(config):
    return f"The run {config.traintype} {config.nettype} seed {config.seed} under {config.outputpath}"


def holder(config):
    """The live process, other than this one, that is training the run of `config`, or None."""
    return claims.holder(claim_file(config))


def claim(stack, config):
    """Claims the run of `config` until `stack` (a contextlib.ExitStack) closes; RunClaimed if another live
    process holds it."""
    stack.enter_context(claims.claimed(claim_file(config), describe(config)))


def claim_available(stack, configs, print_line=print):
    """Claims what it can of `configs` until `stack` closes; returns those it claimed, after one line for each run
    that another process is training. RunClaimed when that is all of them."""
    available, refusals = [], []
    for config in configs:
        try:
            claim(stack, config)
            available.append(config)
        except RunClaimed as refusal:
            refusals.append(refusal)
            print_line(str(refusal))
    if refusals and not available:
        raise refusals[0] if len(refusals) == 1 else RunClaimed(
            f"All {len(refusals)} runs are being trained by other processes (above); they are left to them.")
    return available


__all__ = ["RunClaimed", "claim", "claim_available", "claim_file", "holder"]

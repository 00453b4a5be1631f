"""Sweep.py --pack N: the grid's runs that can share one compiled program, grouped into packs of up to N.

A pack is one job on every executor: one MaskTrainer.py process (`--pack-file`, a JSON list of its runs'
settings written here under OUTPUTPATH/packs/), one Ray task, one Slurm array task, its GPU shared by its runs.
Runs pack together when training/pack.py's `pack_signature` is equal (they may differ in seed, p1,
initializer, learning rate and its drops), in the grid's order; runs of methods with phases, and runs alone in
their group, stay jobs of their own. The pack file's name comes from its runs, so the same grid and --pack give
the same packs again, and a pack resumes where it stopped.
"""

import dataclasses
import hashlib
import os

from results import atomic

PACKS_FOLDER = "packs"


class PackingError(ValueError):
    """--pack cannot apply to this grid; one sentence."""


def pack_jobs(jobs, size, outputpath, write=True):
    """The jobs with the pending (run or resume) ones grouped into packs of up to `size` runs; write: the packs'
    files too (not for --dry-run)."""
    from training.pack import pack_signature
    if size <= 1:
        return list(jobs)
    pending = [job for job in jobs if job.action.executes]
    tensorflow = [job for job in pending if job.config.backend != "jax"]
    if tensorflow:
        raise PackingError(f"--pack trains runs together through JAX, and {len(tensorflow)} run(s) of the grid "
                           "train on TensorFlow: pass --keras-backend jax (or set \"backend\": \"jax\" in the grid), "
                           "or leave --pack out.")
    groups = {}
    for job in pending:
        groups.setdefault(pack_signature(job.config), []).append(job)
    packed, result = {}, []
    for members in groups.values():
        for first in range(0, len(members), size):
            chunk = members[first:first + size]
            if len(chunk) > 1:
                packed[chunk[0].number] = pack_job(chunk, outputpath, write)
                packed.update({member.number: None for member in chunk[1:]})
    for job in jobs:
        replacement = packed.get(job.number, job)
        if replacement is not None:
            result.append(replacement)
    return result


def pack_job(members, outputpath, write=True):
    """One job for the runs `members`, with its pack file (written when `write`)."""
    settings = [{**member.config.replace(outputpath=os.path.abspath(member.config.outputpath),
                                         data_dir=member.config.data_dir and os.path.abspath(member.config.data_dir),
                                         nruns=1, pack=len(members)).to_dict()} for member in members]
    name = hashlib.sha256(repr([sorted(member.config.identity_key()) for member in members]).encode()).hexdigest()
    path = os.path.join(outputpath, PACKS_FOLDER, f"pack-{name[:16]}.json")
    if write:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.write_json(path, {"runs": settings})
    label = f"pack of {len(members)}: " + "; ".join(member.label for member in members)
    kinds = {member.action.kind for member in members}
    action = members[0].action if len(kinds) == 1 else dataclasses.replace(members[0].action, kind="resume",
                                                                          note="part of the pack resumes")
    return dataclasses.replace(members[0], label=label, action=action, members=tuple(members), pack_file=path)

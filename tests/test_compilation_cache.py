"""devices/compilation_cache.py: JAX's persistent compilation cache for runs (MASKTRAINER_JAX_CACHE), one folder per
kind of machine and software; and two JAX runs of one configuration in two processes, the second reading what the
first compiled, with identical logs."""

import json
import os
import subprocess
import sys

import pytest

from cli.keras_backend import BackendError, compilation_cache_folder
from conftest import REPOSITORY
from devices.compilation_cache import (
    USER_VARIABLE,
    VARIABLE,
    cache_folder,
    cache_root,
    cpu_model_and_features,
    jax_settings,
    machine_key,
    prepared_cache_folder,
)

VERSIONS = {"jax": "0.10.2", "jaxlib": "0.10.2"}
EPYC = ("AMD EPYC", "avx avx2 fma sse")


def test_the_cache_is_off_unless_asked_for_and_the_users_own_jax_folder_wins(tmp_path):
    assert cache_root({}) is None and cache_root({VARIABLE: "off"}) is None
    assert cache_root({VARIABLE: "on", "XDG_CACHE_HOME": str(tmp_path)}) == str(
        tmp_path / "masktrainer" / "jax-compilation")
    assert cache_root({VARIABLE: str(tmp_path / "mine")}) == str(tmp_path / "mine")
    assert cache_root({VARIABLE: "on", USER_VARIABLE: str(tmp_path / "theirs")}) is None
    assert prepared_cache_folder({}, *EPYC, None, None, VERSIONS) is None


def test_each_kind_of_cpu_gpu_and_version_gets_a_folder_of_its_own(tmp_path):
    """A program compiled for one CPU's instruction sets must not be read on a CPU without them (a home folder shared
    by a cluster's nodes)."""
    folder = cache_folder(str(tmp_path), machine_key(*EPYC, None, None, VERSIONS))
    assert os.path.basename(folder).startswith("AMD-EPYC-")
    assert folder == cache_folder(str(tmp_path), machine_key(*EPYC, None, None, VERSIONS))
    others = [machine_key("AMD EPYC", "avx avx2 avx512f fma sse", None, None, VERSIONS),
              machine_key(*EPYC, None, None, {**VERSIONS, "jaxlib": "0.10.3"}),
              machine_key(*EPYC, "NVIDIA H200", "580.159.04", VERSIONS)]
    assert len({folder, *(cache_folder(str(tmp_path), key) for key in others)}) == 4
    assert os.path.basename(cache_folder(str(tmp_path), others[2])).startswith("NVIDIA-H200-")


def test_the_cpu_model_and_instruction_sets_come_from_proc_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: sse fma avx2 avx\n\n"
                    "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: sse fma avx2 avx\n")
    assert cpu_model_and_features(str(info)) == EPYC
    assert cpu_model_and_features(str(tmp_path / "missing")) == (None, "")


def test_a_folder_that_cannot_be_made_stops_the_backends_start_in_one_sentence(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.delenv(USER_VARIABLE, raising=False)
    monkeypatch.setenv(VARIABLE, str(tmp_path / "a-file" / "cache"))
    with pytest.raises(BackendError, match=f"cannot be written .*; set {VARIABLE} to a folder you can write, or to "
                                           "off") as raised:
        compilation_cache_folder()
    assert str(tmp_path / "a-file") in str(raised.value)


def test_every_program_is_kept_and_xlas_autotuning_cache_stays_where_xla_flags_put_it():
    assert jax_settings("/c", {}) == {"jax_compilation_cache_dir": "/c",
                                      "jax_persistent_cache_min_compile_time_secs": 0.0}
    assert jax_settings("/c", {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "2"}) == {
        "jax_compilation_cache_dir": "/c"}
    autotuned = {"XLA_FLAGS": "--xla_gpu_exclude_nondeterministic_ops=true "
                              "--xla_gpu_per_fusion_autotune_cache_dir=/a"}
    assert jax_settings("/c", autotuned)["jax_persistent_cache_enable_xla_caches"] == "none"
    assert "jax_persistent_cache_enable_xla_caches" not in jax_settings(
        "/c", {**autotuned, "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES": "all"})
    # the user's own JAX_COMPILATION_CACHE_DIR (no folder of ours): JAX would move the autotuning cache into it too
    assert jax_settings(None, {}) == {}
    assert jax_settings(None, autotuned) == {"jax_persistent_cache_enable_xla_caches": "none"}


def without_the_tests_jax_cache():
    """The environment of a process that starts as a user's would: the suite's own JAX cache settings left out."""
    return {name: value for name, value in os.environ.items()
            if name != USER_VARIABLE and not name.startswith("JAX_PERSISTENT_CACHE_")}


def test_jax_holds_the_settings_once_the_backend_is_chosen(tmp_path):
    probe = ("from cli.keras_backend import select_backend; select_backend('jax'); import jax; "
             "print([jax.config.values[name] for name in ('jax_compilation_cache_dir', "
             "'jax_persistent_cache_min_compile_time_secs', 'jax_persistent_cache_enable_xla_caches')])")
    environment = {**without_the_tests_jax_cache(), VARIABLE: str(tmp_path / "cache"),
                   "XLA_FLAGS": f"--xla_gpu_per_fusion_autotune_cache_dir={tmp_path / 'autotune'}"}
    finished = subprocess.run([sys.executable, "-c", probe], cwd=REPOSITORY, env=environment, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    (folder,) = (tmp_path / "cache").iterdir()
    assert finished.stdout.split("\n")[-2] == str([str(folder), 0.0, "none"])


@pytest.mark.slow
def test_a_second_process_reads_the_programs_the_first_compiled_and_trains_identically(tmp_path):
    environment = {**without_the_tests_jax_cache(), VARIABLE: str(tmp_path / "cache")}
    runs = []
    for attempt in ("first", "second"):
        finished = subprocess.run(
            [sys.executable, "MaskTrainer.py", "--backend", "jax", "--dataset", "mnist-subset", "--limit", "60",
             "--batchsize", "20", "--maxepochs", "2", "--seed", "3", "--outputpath", str(tmp_path / attempt)],
            cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr[-2000:]
        (folder,) = (tmp_path / "cache").iterdir()
        entries = sorted(path.name for path in folder.iterdir())
        (logs_path,) = (tmp_path / attempt).rglob("*_logs.json")
        runs.append((finished.stdout, entries, json.loads(logs_path.read_text())))
    (first_output, first_entries, first), (second_output, second_entries, second) = runs
    assert f"compiled programs kept in {folder}" in first_output.splitlines()[0]
    # every program, though LeNet's each compile in well under JAX's default threshold of a second; none anew after
    assert len(first_entries) > 20 and second_entries == first_entries
    for key in ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "testAccuracy", "remainingWeightsPerLayer"):
        assert second[key] == first[key], key

"""devices/autotune_cache.py: the folder of XLA's kernel choices per GPU model and software, its checks (a half-made
folder made again, a stale key or a cut-short entry refused in one sentence) and the user's XLA_FLAGS, which win.
XLA itself reads the folder only on a GPU; here the logic around it is checked on files."""

import json
import os

import pytest

from cli.keras_backend import BackendError, autotuning_flags
from devices.autotune_cache import (
    VARIABLE,
    AutotuneCacheError,
    autotune_flags,
    cache_folder,
    cache_key,
    gpu_and_driver,
)

VERSIONS = {"jax": "0.11.2", "jaxlib": "0.11.2", "jax-cuda13-plugin": "0.11.2"}
H200 = ("NVIDIA H200", "580.159.04")


def cache_on(tmp_path, **more):
    return {VARIABLE: "on", "XDG_CACHE_HOME": str(tmp_path / "cache"), **more}


def test_the_cache_is_off_unless_asked_for(tmp_path):
    assert autotune_flags({}, *H200, VERSIONS) == ([], None, None)
    assert autotune_flags({VARIABLE: "off"}, *H200, VERSIONS) == ([], None, None)
    assert not (tmp_path / "cache").exists()


def test_a_first_use_makes_the_folder_of_its_gpu_and_versions_and_asks_xla_to_fill_it(tmp_path):
    flags, folder, note = autotune_flags(cache_on(tmp_path), *H200, VERSIONS)
    root = tmp_path / "cache" / "masktrainer" / "xla-autotune"
    assert folder == cache_folder(str(root), cache_key(*H200, VERSIONS)) and note is None
    assert os.path.basename(folder).startswith("NVIDIA-H200-") and os.path.dirname(folder) == str(root)
    assert json.loads((root / os.path.basename(folder) / "key.json").read_text()) == {
        "gpu": "NVIDIA H200", "driver": "580.159.04", "jax": "0.11.2", "jax-cuda13-plugin": "0.11.2",
        "jaxlib": "0.11.2"}
    assert flags == ["--xla_gpu_exclude_nondeterministic_ops=true",
                     f"--xla_gpu_per_fusion_autotune_cache_dir={folder}",
                     "--xla_gpu_experimental_autotune_cache_mode=AUTOTUNE_CACHE_MODE_UPDATE"]
    # What XLA wrote is kept for the next process, which finds the same folder and says nothing.
    (root / os.path.basename(folder) / "fusion_0a1b.textproto").write_text("result { gemm { algorithm: 3 } }")
    assert autotune_flags(cache_on(tmp_path), *H200, VERSIONS) == (flags, folder, None)
    assert (root / os.path.basename(folder) / "fusion_0a1b.textproto").exists()


def test_another_gpu_model_driver_or_version_gets_a_folder_of_its_own(tmp_path):
    folders = {autotune_flags(cache_on(tmp_path), gpu, driver, versions)[1] for gpu, driver, versions in (
        (*H200, VERSIONS), ("NVIDIA H100 80GB HBM3", H200[1], VERSIONS), (H200[0], "590.1", VERSIONS),
        (*H200, {**VERSIONS, "jaxlib": "0.12.0"}))}
    assert len(folders) == 4


def test_a_folder_of_ones_own_is_taken_as_the_root(tmp_path):
    _, folder, _ = autotune_flags({VARIABLE: str(tmp_path / "mine")}, *H200, VERSIONS)
    assert os.path.dirname(folder) == str(tmp_path / "mine")


def test_a_half_made_folder_is_made_again_and_says_so(tmp_path):
    _, folder, _ = autotune_flags(cache_on(tmp_path), *H200, VERSIONS)
    os.remove(os.path.join(folder, "key.json"))  # its maker stopped before the key was written
    flags, again, note = autotune_flags(cache_on(tmp_path), *H200, VERSIONS)
    assert again == folder and note == f"The autotuning cache {folder} was left half made; it is made again."
    assert os.listdir(folder) == ["key.json"]


def test_a_stale_key_or_a_cut_short_entry_is_refused_in_one_sentence_naming_the_folder(tmp_path):
    _, folder, _ = autotune_flags(cache_on(tmp_path), *H200, VERSIONS)
    entry = os.path.join(folder, "fusion_77.textproto")
    with open(entry, "w") as handle:
        handle.write("")
    with pytest.raises(AutotuneCacheError) as refusal:
        autotune_flags(cache_on(tmp_path), *H200, VERSIONS)
    assert str(refusal.value) == (f"The autotuning cache {folder} holds an empty or unreadable entry "
                                  f"(fusion_77.textproto), a write cut short: remove it (rm -r {folder}) to tune "
                                  f"anew, or set {VARIABLE} to another folder.")
    os.remove(entry)
    with open(os.path.join(folder, "key.json"), "w") as handle:
        json.dump({"gpu": "NVIDIA A100"}, handle)
    with pytest.raises(AutotuneCacheError, match=r"holds choices for NVIDIA A100 \(driver None, jax None, jaxlib "
                                                 r"None\), not for this NVIDIA H200 \(driver 580.159.04, jax 0.11.2, "
                                                 r"jaxlib 0.11.2\): remove it"):
        autotune_flags(cache_on(tmp_path), *H200, VERSIONS)


def test_the_users_xla_flags_win(tmp_path):
    for flag in ("--xla_gpu_deterministic_ops=false", "--xla_gpu_per_fusion_autotune_cache_dir=/elsewhere",
                 "--xla_gpu_exclude_nondeterministic_ops=false"):
        assert autotune_flags(cache_on(tmp_path, XLA_FLAGS=flag), *H200, VERSIONS) == ([], None, None)
    assert not (tmp_path / "cache").exists()


def test_the_gpu_model_and_driver_come_from_the_drivers_files(tmp_path):
    gpus = tmp_path / "gpus" / "0000:19:00.0"
    gpus.mkdir(parents=True)
    (gpus / "information").write_text("Model: \t\t NVIDIA H200\nIRQ:   \t\t 33\nGPU UUID: \t GPU-1234\n")
    version = tmp_path / "version"
    version.write_text("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  "
                       "(dvs-builder@U16-I3-B03-4-1)  Thu Jul 10 2025\nGCC version:  gcc version 12.2.0\n")
    assert gpu_and_driver(str(tmp_path / "gpus"), str(version)) == H200
    assert gpu_and_driver(str(tmp_path / "none"), str(tmp_path / "none")) == (None, None)


def test_a_refused_cache_stops_the_backends_start_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr("devices.autotune_cache.gpu_and_driver", lambda: H200)
    for name, value in cache_on(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert autotuning_flags()[0] == "--xla_gpu_exclude_nondeterministic_ops=true"
    root = tmp_path / "cache" / "masktrainer" / "xla-autotune"
    (folder,) = root.iterdir()
    (folder / "key.json").write_text("{")
    with pytest.raises(BackendError, match="holds choices for an unreadable key"):
        autotuning_flags()


def test_the_kernels_xla_flags_ask_for_are_read_one_way_for_the_device_line_and_the_gpu_check():
    from devices.autotune_cache import kernel_choice
    cached = ("--xla_gpu_exclude_nondeterministic_ops=true --xla_gpu_per_fusion_autotune_cache_dir=/c/H200 "
              "--xla_gpu_experimental_autotune_cache_mode=AUTOTUNE_CACHE_MODE_UPDATE")
    assert kernel_choice(cached) == ("autotuned", "/c/H200")
    assert kernel_choice("--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true") == ("deterministic", None)
    assert kernel_choice("--xla_gpu_exclude_nondeterministic_ops=true") == ("deterministic", None)
    assert kernel_choice("--xla_gpu_deterministic_ops=false") == (None, None)
    assert kernel_choice("") == (None, None)

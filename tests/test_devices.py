"""--device and --precision: the device a run trains on is chosen, enforced and recorded; never the CPU silently.

This machine has no GPU. A "visible GPU" is made by pointing devices.selection at a folder of fake driver entries
(in a subprocess that then runs MaskTrainer.main), which is what the NVIDIA driver's /proc/driver/nvidia/gpus
shows; the CPU-only JAX and TensorFlow installed here then cannot use it, as on a GPU machine without the CUDA
build.
"""

import json
import subprocess
import sys

import pytest

import devices
from config import RunConfig, command_line_arguments
from conftest import REPOSITORY
from devices import selection

TINY_RUN = ["--dataset", "mnist-subset", "--limit", "100", "--maxepochs", "1", "--seed", "5"]


def fake_gpus(monkeypatch, tmp_path, count):
    folder = tmp_path / "gpus"
    folder.mkdir()
    for index in range(count):
        (folder / f"0000:0{index}:00.0").mkdir()
    monkeypatch.setattr(selection, "NVIDIA_GPUS_FOLDER", str(folder))
    return folder


@pytest.mark.parametrize("restriction, expected", [
    (None, ["0", "1", "2"]), ("", []), ("-1", []), ("2,0", ["2", "0"]), ("1,7,0", ["1"]),
    ("GPU-8f3a", ["GPU-8f3a"])])
def test_visible_gpus_follow_the_driver_and_cuda_visible_devices(monkeypatch, tmp_path, restriction, expected):
    fake_gpus(monkeypatch, tmp_path, 3)
    environment = {} if restriction is None else {"CUDA_VISIBLE_DEVICES": restriction}
    assert devices.visible_gpus(environment) == expected


def test_no_driver_means_no_visible_gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(selection, "NVIDIA_GPUS_FOLDER", str(tmp_path / "absent"))
    monkeypatch.setattr(selection, "DEVICE_FILES_FOLDER", str(tmp_path))
    assert devices.visible_gpus({}) == []
    (tmp_path / "nvidia0").touch()  # a container with the device files but no /proc/driver
    (tmp_path / "nvidiactl").touch()
    assert devices.visible_gpus({}) == ["0"]


def mask_trainer(tmp_path, arguments, gpus=0):
    """MaskTrainer.main in a new process, with `gpus` fake driver entries; (exit code, stdout, stderr)."""
    folder = tmp_path / "fake-driver"
    folder.mkdir(exist_ok=True)
    for index in range(gpus):
        (folder / f"gpu{index}").mkdir(exist_ok=True)
    script = ("import sys; import devices.selection as selection; "
              f"selection.NVIDIA_GPUS_FOLDER = {str(folder)!r}; "
              "import MaskTrainer; sys.exit(MaskTrainer.main(sys.argv[1:]))")
    finished = subprocess.run([sys.executable, "-c", script, *arguments, "--outputpath", str(tmp_path / "out")],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path)})
    return finished.returncode, finished.stdout, finished.stderr


def one_error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("MaskTrainer.py: error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_gpu_asked_where_none_is_usable_is_refused_in_one_sentence(tmp_path, backend):
    code, stdout, stderr = mask_trainer(tmp_path, [*TINY_RUN, "--backend", backend, "--device", "gpu"])
    assert code == 2
    line = one_error_line(stderr)
    assert line.startswith("MaskTrainer.py: error: --device gpu asks for a GPU, but ")
    assert ("no NVIDIA GPU is visible" in line) if backend == "jax" else ("--backend jax" in line)
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("backend, reason", [("jax", "here is the CPU-only build (no CUDA plugin)"),
                                             ("tensorflow", "TensorFlow here cannot use one")])
def test_a_visible_gpu_the_backend_cannot_use_is_not_skipped_silently(tmp_path, backend, reason):
    code, _, stderr = mask_trainer(tmp_path, [*TINY_RUN, "--backend", backend], gpus=1)
    assert code == 2
    line = one_error_line(stderr)
    assert line.startswith("MaskTrainer.py: error: A GPU is visible, but ") and reason in line
    assert line.endswith("or pass --device cpu to train on the CPU.")


def test_device_cpu_trains_on_the_cpu_beside_a_visible_gpu_and_the_logs_say_so(tmp_path):
    code, stdout, stderr = mask_trainer(tmp_path, [*TINY_RUN, "--backend", "jax", "--device", "cpu"], gpus=2)
    assert code == 0, stderr
    assert stdout.splitlines()[0].startswith("Device: CPU: ")
    assert "Keras on jax, float32 products" in stdout.splitlines()[0]
    logs = json.loads(next((tmp_path / "out").rglob("*_logs.json")).read_text())
    assert logs["config"]["device"] == "cpu" and logs["config"]["precision"] == "float32"
    record = logs["devices"][0]
    assert (record["platform"], record["requested"], record["backend"], record["precision"]) == \
        ("cpu", "cpu", "jax", "float32")
    assert logs["versions"]["device"] == "cpu"


def test_tf32_on_the_cpu_is_refused(tmp_path):
    code, _, stderr = mask_trainer(tmp_path, [*TINY_RUN, "--backend", "jax", "--precision", "tf32"])
    assert code == 2
    assert "--precision tf32 is for NVIDIA GPUs" in one_error_line(stderr)


def test_precision_is_part_of_a_runs_identity_and_the_device_is_not():
    plain = RunConfig(seed=3)
    assert plain.identity()["precision"] == "float32"
    assert plain.replace(precision="tf32").identity_key() != plain.identity_key()
    assert plain.replace(device="gpu").identity_key() == plain.identity_key()
    assert "device" in plain.to_dict()  # recorded in the logs all the same
    arguments = command_line_arguments(plain.replace(precision="tf32", device="gpu"))
    assert arguments[arguments.index("--precision") + 1] == "tf32"
    assert arguments[arguments.index("--device") + 1] == "gpu"
    assert "--precision" not in command_line_arguments(plain) and "--device" not in command_line_arguments(plain)


def test_logs_written_before_precision_existed_are_the_float32_runs():
    stored = {**RunConfig(seed=3).to_dict()}
    del stored["precision"], stored["device"]
    assert RunConfig.from_settings(stored, strict=False).identity_key() == RunConfig(seed=3).identity_key()


def test_a_resumed_run_trains_on_the_device_it_asked_for_unless_told_otherwise():
    from cli.keras_backend import backend_and_device
    plain = RunConfig()
    assert backend_and_device({}, plain, resumed={"device": "gpu", "backend": "jax"}) == ("jax", "gpu")
    assert backend_and_device({"device": "cpu"}, RunConfig(device="cpu"), resumed={"device": "gpu"}) == \
        ("tensorflow", "cpu")
    assert backend_and_device({}, plain, resumed={}) == ("tensorflow", "auto")  # logs of a version without --device
    assert backend_and_device({}, plain) == ("tensorflow", "auto")
    packed = RunConfig(backend="jax", device="cpu")
    assert backend_and_device({}, plain, packed=packed) == ("jax", "cpu")


def test_a_cuda_plugin_of_another_version_is_named(monkeypatch, tmp_path):
    import jaxlib
    fake_gpus(monkeypatch, tmp_path, 1)
    versions = {"jax-cuda12-plugin": "0.0.1"}

    def version(name):
        if name in versions:
            return versions[name]
        raise selection.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(selection.importlib.metadata, "version", version)
    message = selection.jax_gpu_problem(RuntimeError("Unable to initialize backend 'cuda'"), "gpu")
    assert message == (f"--device gpu asks for a GPU, but JAX cannot use it: jax-cuda12-plugin 0.0.1 does not match "
                       f"jaxlib {jaxlib.__version__}; install the CUDA build of the same JAX version (make setup-gpu, "
                       "or pip install -r requirements-gpu.txt).")
    versions["jax-cuda12-plugin"] = jaxlib.__version__  # the right build, yet the GPU does not start
    assert "JAX could not start it (Unable to initialize backend 'cuda'); check the NVIDIA driver" in \
        selection.jax_gpu_problem(RuntimeError("Unable to initialize backend 'cuda'"), "auto")


JAX_TRIP_COUNT = """
import re, sys, tempfile
from cli.keras_backend import select_backend
select_backend("jax", "cpu")
import jax.numpy as jnp, numpy as np
from config import RunConfig
from datasets import load_dataset
from training.batches import epoch_batches
from training.loop import Experiment
dataset = load_dataset("mnist-subset", "mnist", limit=100)
config = RunConfig(maxepochs=1, seed=1, outputpath=tempfile.mkdtemp(), backend="jax").validate()
pack = Experiment(config, dataset, print_line=lambda line: None).steps.pack_of_one
indices, weights = epoch_batches(np.random.default_rng(0), 100, 25)
program = pack._train_chunk.lower(pack.stacked_state(), pack.x_train, pack.y_train, jnp.asarray(indices)[None],
                                  jnp.asarray(weights)[None], None, jnp.int32(1), count=3).compile().as_text()
print(re.findall(r'"known_trip_count":\\{"n":"(\\d+)"\\}', program))
"""


def test_the_jax_training_loop_has_a_static_trip_count():
    """A GPU runs a loop of unknown length by asking the host after every step whether to go on; XLA knows the
    trip count of the compiled chunk (3 steps from a traced start) and says so in the optimised program."""
    finished = subprocess.run([sys.executable, "-c", JAX_TRIP_COUNT], cwd=REPOSITORY, capture_output=True, text=True,
                              timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)})
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == "['3']"


def test_the_gpu_requirements_install_the_cuda_build_of_the_jax_version_the_tests_run():
    import re
    pins = {name: re.findall(r'^jax(?:\[cuda\d+\])?([=<>][^;\n]*);\s*(python_version[^\n]*)$',
                             (REPOSITORY / name).read_text(), re.MULTILINE)
            for name in ("requirements.txt", "requirements-gpu.txt")}
    assert pins["requirements.txt"] and pins["requirements.txt"] == [
        (version, marker) for version, marker in pins["requirements-gpu.txt"]]
    assert "-r requirements-dev.txt" in (REPOSITORY / "requirements-gpu.txt").read_text()

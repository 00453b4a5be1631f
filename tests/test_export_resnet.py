"""Export.py on the networks with BatchNorm (ResNet8; VGG16 and ResNet18, the field's, in both formats at once): the
plain Keras model, BatchNorm's final values set, predicts as the run's own network (BatchNorm in inference mode) for
both ResNet variants and with BatchNorm's scale and offset frozen; the supermask, which carries the BatchNorm values,
reloads bit for bit; and the plain and masked builds of every network are one description
(networks.assemble_network with either layer factory)."""

import keras
import numpy as np
import pytest

import Export
from datasets import load_dataset
from export import find_finished_run, load_supermask, write_supermask
from export.plain_keras import PlainLayers
from masking import MaskedLayer
from networks import assemble_network, build_network, network_entry
from networks.input_scale import InputScale

TINY = dict(dataset="mnist-subset", limit=40, batchsize=20, maxepochs=1, lr=0.01)  # two training steps
VARIANTS = {"standard": {}, "2020": {"resnet_variant": "2020"}, "frozen": {"batchnorm_affine": "frozen"}}


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("mnist-subset", "mnist", limit=TINY["limit"])


@pytest.fixture(scope="module", params=list(VARIANTS))
def resnet_run(request, tmp_path_factory, dataset):
    """(the finished experiment, its FinishedRun, a folder for exports) of a tiny ResNet8 FreePruning run."""
    from config import RunConfig
    folder = tmp_path_factory.mktemp(f"resnet_{request.param}")
    config = RunConfig.from_settings({"traintype": "FreePruning", "nettype": "ResNet8", "seed": 3,
                                      "outputpath": str(folder), **TINY, **VARIANTS[request.param]})
    experiment = config.validate().family.experiment_class(config, dataset, print_line=lambda line: None)
    experiment.run()
    return request.param, experiment, find_finished_run(experiment.path("logs")), folder


def outputs_of(model, layer_name, images):
    return np.asarray(keras.Model(model.input, model.get_layer(layer_name).output)(images, training=False))


def test_the_plain_keras_model_predicts_as_the_run_with_its_final_batchnorm_values(resnet_run, dataset, capsys):
    variant, experiment, run, folder = resnet_run
    batchnorm = run.batchnorm()
    kinds = {path.rsplit("/", 1)[1] for path in batchnorm}
    affine = {"gamma", "beta"} if variant != "frozen" else set()
    assert kinds == {"moving_mean", "moving_variance"} | affine
    # The values moved in training: a model left with BatchNorm's initial values would predict otherwise.
    assert not np.allclose(batchnorm["stem_bn/moving_variance"], 1.0)
    arguments = [run.logs_path, "--format", "keras", "--output-dir", str(folder / "out")]
    assert Export.main(arguments + (["--check"] if variant == "standard" else [])) == 0
    if variant == "standard":
        assert "equal to the run's logged final test accuracy" in capsys.readouterr().out
    (path,) = (folder / "out").glob("*_model.keras")
    model = keras.saving.load_model(path)  # no custom objects
    assert all(type(layer).__module__.startswith("keras.") for layer in model.layers)
    loaded = {variable.path: np.asarray(variable) for layer in model.layers
              if isinstance(layer, keras.layers.BatchNormalization) for variable in layer.variables}
    assert loaded.keys() == batchnorm.keys()
    for path_of_variable, value in batchnorm.items():
        np.testing.assert_array_equal(loaded[path_of_variable], value, err_msg=path_of_variable)
    images = dataset.x_test[:8]
    # "output" is the dense softmax; the 2020 variant applies a second softmax after it.
    for layer_name in ("output", model.layers[-1].name):
        np.testing.assert_allclose(outputs_of(model, layer_name, images),
                                   outputs_of(experiment.model, layer_name, images),
                                   rtol=1e-5, atol=1e-6, err_msg=layer_name)
    np.testing.assert_allclose(model.predict(images, verbose=0), experiment.model.predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert (model.layers[-1].name == "second_softmax") == (variant == "2020")


def test_the_supermask_carries_the_batchnorm_values_and_reloads_bit_for_bit(resnet_run, dataset):
    _, experiment, run, folder = resnet_run
    path = folder / "supermask.npz"
    write_supermask(run, path)
    with np.load(path, allow_pickle=False) as archive:
        stored = {name: archive[name] for name in archive.files if name.startswith("batchnorm/")}
    assert stored.keys() == {f"batchnorm/{name}" for name in run.batchnorm()}
    images = dataset.x_test[:8]
    np.testing.assert_array_equal(load_supermask(path).predict(images, verbose=0),
                                  experiment.model.predict(images, verbose=0))


@pytest.mark.parametrize("nettype", ["VGG16", "ResNet18"])
def test_the_field_networks_with_batchnorm_export_in_both_formats(nettype, tmp_path, dataset, capsys):
    """Their BatchNorm values travel with both exports: the registry says they have BatchNorm, not "a ResNet"."""
    from config import RunConfig
    config = RunConfig.from_settings({"traintype": "FreePruning", "nettype": nettype, "seed": 3,
                                      "outputpath": str(tmp_path), **TINY, "limit": 20})
    experiment = config.validate().family.experiment_class(config, dataset, print_line=lambda line: None)
    experiment.run()
    run = find_finished_run(experiment.path("logs"))
    assert run.batchnorm() and Export.main([run.logs_path, "--output-dir", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    images = dataset.x_test[:4]
    expected = experiment.model.predict(images, verbose=0)
    (keras_path,) = (tmp_path / "out").glob("*_model.keras")
    np.testing.assert_allclose(keras.saving.load_model(keras_path).predict(images, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    (supermask_path,) = (tmp_path / "out").glob("*_supermask.npz")
    np.testing.assert_array_equal(load_supermask(supermask_path).predict(images, verbose=0), expected)


@pytest.mark.parametrize("nettype, input_shape, settings", [
    ("LeNet", (28, 28, 1), {"initializer": "binary"}), ("Conv2", (32, 32, 3), {}), ("Conv6", (32, 32, 3), {}),
    ("LeNet5", (28, 28, 1), {"activation": "selu"}), ("ResNet8", (32, 32, 3), {"batchnorm_affine": "frozen"}),
    ("ResNet20", (32, 32, 3), {"resnet_variant": "2020"}), ("Conv8", (32, 32, 3), {}),
    ("VGG16", (32, 32, 3), {"batchnorm_affine": "frozen"}), ("ResNet18", (32, 32, 3), {}),
])
def test_the_plain_and_the_masked_network_are_one_description(nettype, input_shape, settings):
    masked = build_network(nettype, input_shape, **settings)
    plain = assemble_network(nettype, input_shape, 10, PlainLayers(), **settings)
    assert [layer.name for layer in plain.layers] == [layer.name for layer in masked.layers]
    for plain_layer, masked_layer in zip(plain.layers, masked.layers, strict=True):
        if isinstance(masked_layer, InputScale):  # the factory's own: Keras' Rescaling, the same product
            assert type(plain_layer) is keras.layers.Rescaling and plain_layer.offset == 0.0
            assert plain_layer.scale == masked_layer.scale == network_entry(nettype).binary_input_scale
            continue
        if not isinstance(masked_layer, MaskedLayer):  # BatchNorm, Add, Activation, pooling, Flatten, ...: the same
            assert type(plain_layer) is type(masked_layer)
            assert plain_layer.get_config() == masked_layer.get_config(), masked_layer.name
            continue
        assert isinstance(plain_layer, (keras.layers.Conv2D, keras.layers.Dense)) and not plain_layer.use_bias
        assert plain_layer.kernel.shape == masked_layer.kernel.shape, masked_layer.name
        assert plain_layer.activation.__name__ == masked_layer.activation.__name__, masked_layer.name
        if isinstance(plain_layer, keras.layers.Conv2D):
            assert plain_layer.strides == (masked_layer.strides,) * 2, masked_layer.name
            assert plain_layer.padding == masked_layer.padding, masked_layer.name

"""Every figure is written, opens as an image of sensible size, and PDFs are PDFs."""

import os
import sys

import matplotlib.image
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from reporting import style  # noqa: E402
from reporting.comparison_figures import comparison_groups, write_comparison_figures  # noqa: E402
from reporting.figures import write_configuration_figure  # noqa: E402
from reporting.layer_figures import write_layer_figures  # noqa: E402
from reporting.merge import merge_table  # noqa: E402
from reporting.runs_table import load_runs  # noqa: E402
from reporting.sweep_figures import sweep_series, write_sweep_figures  # noqa: E402
from tests.result_folders import write_fake_run, write_method_tree  # noqa: E402


def check_png(path):
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200, (path, image.shape)
    assert image.std() > 0.01, f"{path} looks blank"


def check_pdf(path):
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-", path
    assert os.path.getsize(path) > 1000


def check_written(paths, expected_count):
    assert len(paths) == expected_count, paths
    for path in paths:
        assert os.path.isfile(path), path
        check_png(path) if path.endswith(".png") else check_pdf(path)
    folder = os.path.dirname(paths[0])
    assert not [name for name in os.listdir(folder) if name.startswith(".tmp-")]


@pytest.fixture(scope="module")
def configurations(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    write_method_tree(root, seeds=(1, 2), epochs=4, p1_sweep=(0.3,))
    write_fake_run(root, {"traintype": "MinPruning", "nettype": "Conv2", "initializer": "binary"}, 5,
                   [0.1, 0.3, 0.4], remaining=[4300992, 4000000, 3900000])  # one run: band collapses
    return merge_table(load_runs([str(root)]).runs)


def test_configuration_figures(configurations, tmp_path):
    # Baseline, pruning, flipping, and the single-run configuration whose band collapses.
    picked = {c.get("traintype") + str(len(c.runs)): c for c in configurations}
    assert {"Baseline2", "FreePruning2", "FreeFlipping2", "MinPruning1"} <= set(picked)
    for name in ("Baseline2", "FreePruning2", "FreeFlipping2", "MinPruning1"):
        paths = write_configuration_figure(picked[name], str(tmp_path / name / "merged_curves"), ["png", "pdf"])
        check_written(paths, 2)


def test_comparison_figures_overlay_the_methods(configurations, tmp_path):
    groups = {(family, fields["p1"]): [c.get("traintype") for c in members]
              for family, fields, members in comparison_groups(configurations)}
    assert groups == {("pruning", 0.5): ["Baseline", "FreePruning", "MinPruning"],
                      ("flipping", 0.5): ["Baseline", "FreeFlipping", "MinFlipping"]}
    paths = write_comparison_figures(configurations, str(tmp_path), ["png", "pdf"])
    check_written(paths, 4)
    names = sorted(os.path.basename(p) for p in paths)
    assert names[0] == "compare_flipping_LeNet_heconstant_P1_0.5_mnist_relu.pdf"


def test_sweep_figures(configurations, tmp_path):
    [series] = sweep_series(configurations)
    assert [c.get("p1") for c in series] == [0.3, 0.5]
    paths = write_sweep_figures(configurations, str(tmp_path), ["png", "pdf"])
    check_written(paths, 2)
    assert os.path.basename(paths[0]) == "sweep_p1_LeNet_mnist.png"


def test_layer_figures(configurations, tmp_path):
    stems = style.configuration_stems(configurations)
    assert len(set(stems.values())) == len(configurations)
    paths = write_layer_figures(configurations, str(tmp_path), ["png"], stems)
    names = [os.path.basename(p) for p in paths]
    # Per-layer bars: LeNet at p1 0.5 and 0.3, Conv2; mask evolution: every configuration but Baseline.
    assert len([n for n in names if n.startswith("layers_")]) == 3
    assert len([n for n in names if n.startswith("masks_")]) == len(configurations) - 1
    check_written(paths, len(paths))


def test_figure_colours_are_fixed_per_method():
    colours = [style.method_color(m) for m in style.METHODS]
    assert len(set(colours)) == len(colours)
    assert style.method_color("FreePruning") == style.METHOD_COLORS["FreePruning"]

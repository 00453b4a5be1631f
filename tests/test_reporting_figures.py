"""Every figure is written from runs of the real trainer, opens as an image of sensible size, and PDFs
are PDFs. What the figures plot is checked in test_reporting_figure_data.py."""

import os

import matplotlib.image
import pytest

from methods import get_family
from reporting import style
from reporting.comparison_figures import comparison_groups, write_comparison_figures
from reporting.figures import write_configuration_figure
from reporting.layer_figures import write_layer_figures
from reporting.merge import configurations_of, merge_table
from reporting.runs_table import load_runs
from reporting.sweep_figures import sweep_series, write_sweep_figures
from tests.trained_runs import configurations as logs_configurations
from tests.trained_runs import read_logs

pytest_plugins = ["tests.fixtures_trained"]


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
def configurations(trained_runs):
    return merge_table(load_runs(trained_runs))


def test_configuration_figures(configurations, trained_runs, tmp_path):
    # Baseline, pruning, flipping, both other families, and a single run whose band collapses.
    picked = {c.get("traintype"): c for c in configurations_of(configurations) if c.get("p1") == 0.5}
    [single] = read_logs(trained_runs, traintype="MinFlipping", seed=1)
    picked["MinFlipping alone"] = configurations_of(merge_table(load_runs(single["_path"])))[0]
    assert len(picked["MinFlipping alone"].runs) == 1
    for name in ("Baseline", "FreePruning", "FreeFlipping", "IMP", "RandomPruning", "MinFlipping alone"):
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
    assert names[0] == "compare_flipping_LeNet_heconstant_P1_0.5_mnist-subset_relu.pdf"


def test_sweep_figures(configurations, tmp_path):
    [series] = sweep_series(configurations)
    assert [(c.get("traintype"), c.get("p1")) for c in series] == [("FreePruning", p1) for p1 in (0.3, 0.5, 0.7)]
    paths = write_sweep_figures(configurations, str(tmp_path), ["png", "pdf"])
    check_written(paths, 2)
    assert os.path.basename(paths[0]) == "sweep_p1_LeNet_mnist-subset.png"


def test_layer_figures(configurations, trained_runs, tmp_path):
    merged = configurations_of(configurations)
    stems = style.configuration_stems(merged)
    assert len(set(stems.values())) == len(merged)
    paths = write_layer_figures(configurations, str(tmp_path), ["png"], stems)
    names = [os.path.basename(p) for p in paths]
    # Per-layer bars: one per network, initializer and p1; mask evolution: every configuration but Baseline.
    logs = read_logs(trained_runs)
    groups = {(entry["config"]["initializer"], entry["config"]["p1"]) for entry in logs}
    assert len([n for n in names if n.startswith("layers_")]) == len(groups) == 4
    masks = [key for key in logs_configurations(trained_runs) if dict(key)["traintype"] != "Baseline"]
    assert len([n for n in names if n.startswith("masks_")]) == len(masks) == len(merged) - 1
    check_written(paths, len(paths))


def test_figure_colours_are_fixed_per_method():
    assert [style.method_color(m) for m in ("Baseline", "FreePruning", "MinPruning", "FreeFlipping", "MinFlipping")] \
        == ["#333333", "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e"]
    for family in ("connectivity", "lottery", "pruning_at_init"):
        methods = get_family(family).methods
        colours = [style.method_color(method.name) for method in methods]
        assert colours == [method.color for method in methods]
        assert len(set(colours)) == len(colours), family
    # Across families too: one figure may draw FreePruning, EdgePopup, KStarts and IMP side by side.
    everyone = [method for family in ("connectivity", "lottery", "pruning_at_init")
                for method in get_family(family).methods]
    assert len({method.color for method in everyone}) == len(everyone)
    assert len({(method.color, method.marker) for method in everyone}) == len(everyone)
    assert style.method_color("NoSuchMethod") == style.OTHER_COLOR


def test_a_methods_later_series_get_their_own_line_styles_and_long_legends_go_beneath():
    seen = {}
    styles = [style.series_linestyle(seen, method) for method in ("SNIP", "SNIP", "GraSP", "SNIP")]
    assert styles == ["-", "--", "-", ":"]
    for beneath in (False, True):
        figure, (ax,) = style.new_figure(ncols=1)
        for index in range(6):
            ax.plot([0, 1], [index, index], label=f"series {index}")
        height = figure.get_figheight()
        style.legend(figure, ax, beneath=beneath, ncol=2)
        assert (ax.get_legend() is None, len(figure.legends)) == ((True, 1) if beneath else (False, 0))
        assert figure.get_figheight() == pytest.approx(height + (0.17 * 3 if beneath else 0))

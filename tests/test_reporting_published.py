"""Published figures as data (reporting/published.csv): every row has its source and names a network, data set and
recipe this tool has; the paper table lists the matching values under it and the comparison figures draw them."""

import math

import numpy as np
import pytest

from reporting.comparison_figures import comparison_figure, comparison_groups
from reporting.merge import merge_table
from reporting.paper_table import table_rows, to_latex, to_markdown
from reporting.published import load_published, problems
from reporting.runs_table import load_runs
from tests.trained_runs import copy_runs

pytest_plugins = ["tests.fixtures_trained"]

PUBLISHED = [{"method": "FreePruning", "nettype": "LeNet", "dataset": "mnist-subset", "sparsity": math.nan,
              "keptFraction": math.nan, "accuracy": 41.5, "source": "Test et al. 2030, Table 9", "secondary": "no",
              "note": "", "recipe": "experiments/lenet_mnist.json"}]


def test_every_published_row_has_its_source_and_names_what_this_tool_has():
    rows = load_published()
    assert len(rows) >= 20 and problems(rows) == []
    snip = [(row["sparsity"], row["accuracy"]) for row in rows if (row["method"], row["nettype"]) == ("SNIP", "LeNet")]
    assert snip == [(0.95, 98.4), (0.98, 97.6)]  # Lee et al. 2019, Table 1, as ../shared/PUBLISHED.md quotes it
    assert all(row["source"] for row in rows)


def test_a_row_without_its_source_fails():
    unsourced = [{**PUBLISHED[0], "dataset": "mnist", "source": " "}]
    assert problems(unsourced) == ["line 2 (FreePruning, LeNet, mnist) has no source."]
    assert problems([{**PUBLISHED[0], "nettype": "AlexNet", "recipe": "experiments/none.json"}]) == [
        "line 2 (FreePruning, AlexNet, mnist-subset): not a network and data set of this tool.",
        "line 2 (FreePruning, AlexNet, mnist-subset): no recipe file experiments/none.json."]


@pytest.fixture(scope="module")
def configurations(trained_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    copy_runs(trained_runs, root, traintype=["Baseline", "FreePruning", "MinPruning"], p1=0.5)
    return merge_table(load_runs([str(root)]))


def test_the_paper_table_lists_the_matching_published_values(configurations):
    rows = table_rows(configurations)
    note = ("Published (reporting/published.csv): FreePruning, LeNet, mnist-subset: 41.5% (Test et al. 2030, "
            "Table 9; recipe: experiments/lenet_mnist.json).")
    assert note in to_markdown(rows, PUBLISHED) and "% " + note in to_latex(rows, PUBLISHED)
    assert "Published" not in to_markdown(rows)  # the file has no mnist-subset figure
    assert "Published" not in to_markdown(rows, [{**PUBLISHED[0], "method": "EdgePopup"}])


def test_the_comparison_figure_draws_them_beside_the_runs(configurations):
    [(family, fields, members)] = comparison_groups(configurations)
    [left, _] = comparison_figure(family, fields, members, PUBLISHED).axes
    [star] = [line for line in left.get_lines() if line.get_marker() == "*"]
    assert list(star.get_xdata()) == [max(c.epochs for c in members) - 1] and list(star.get_ydata()) == [41.5]
    assert star.get_label() == "FreePruning, published: 41.5% (Test et al. 2030)"
    assert left.get_ylim()[0] <= 41.5 <= left.get_ylim()[1]
    [left, _] = comparison_figure(family, fields, members, []).axes
    assert not [line for line in left.get_lines() if line.get_marker() == "*"]
    assert np.isfinite(left.get_ylim()).all()

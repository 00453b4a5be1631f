"""The methods of one network and initializer overlaid: Baseline vs FreePruning vs MinPruning, and
Baseline vs FreeFlipping vs MinFlipping. Each configuration is drawn with its min-max band.
"""

import os

import numpy as np

from methods import family_of, get_family, get_method
from reporting import style
from reporting.frames import ordered_groups, where
from reporting.merge import configurations_of
from reporting.published import load_published, matching

GROUP_FIELDS = ("nettype", "initializer", "dataset", "activation", "p1")
LEGEND_INSIDE_AT_MOST = 4  # legend entries drawn inside the accuracy panel
LEGEND_FIELDS = ("masktype", "lr", "batchsize", "maxepochs", "optimizer", "weight_decay", "lr_schedule")


def comparison_families():
    """{"pruning": (Baseline, FreePruning, MinPruning, ...), "flipping": (...)}: the methods that train connectivity
    over fixed weights (the connectivity and supermask families) by what they change, each after the method that
    trains the weights."""
    methods = get_family("connectivity").methods + get_family("supermask").methods
    reference = tuple(method.name for method in methods if method.changes == "weights")
    return {changes: reference + tuple(method.name for method in methods if method.changes == changes)
            for changes in ("pruning", "flipping")}


def comparison_groups(configurations):
    """(family, group fields, list of Configurations) for every figure there is data for, from the
    configurations frame (reporting.merge.merge_table).

    A figure needs two configurations or more, at least one of them not Baseline.
    """
    found = []
    for fields, group in ordered_groups(configurations, GROUP_FIELDS):
        for family, methods in comparison_families().items():
            members = where(group, traintype=list(methods))
            if len(where(members, traintype=list(methods[1:]))) and len(members) >= 2:
                members = sorted(configurations_of(members), key=lambda c: style.method_order(c.get("traintype")))
                found.append((family, fields, members))
    return found


def own_varying_settings(method, members):
    """The settings of `method`'s family that it uses and that differ between its configurations among `members`
    (EdgePopup's keep_fraction, Supermask's dynamic_scaling), for its legend entries."""
    same = [c for c in members if c.get("traintype") == method]
    return [name for name in family_of(method).setting_names(get_method(method))
            if len({c.get(name) for c in same}) > 1]


def draw_published(ax, published, fields, members):
    """Each published value of a method among `members` on the same network and data set (reporting/published.py),
    as a star in the method's colour at the last epoch; returns the number drawn."""
    x = max(c.epochs for c in members) - 1
    drawn = []
    for method in dict.fromkeys(c.get("traintype") for c in members):
        for row in matching(published, method, fields.get("nettype"), fields.get("dataset")):
            ax.plot([x], [row["accuracy"]], linestyle="none", marker="*", markersize=11, markeredgecolor="black",
                    markeredgewidth=0.6, color=style.method_color(method), clip_on=False,
                    label=f"{method}, published: {row['accuracy']:g}% ({row['source'].split(',')[0]})")
            drawn.append(row["accuracy"])
    if drawn:
        bottom, top = ax.get_ylim()
        ax.set_ylim(min(bottom, min(drawn) - 0.5), min(100.0, max(top, max(drawn) + 0.5)))
    return len(drawn)


def comparison_figure(family, fields, members, published=None):
    """The figure of one group; `published`: the rows of reporting/published.csv (None: read the file)."""
    published = load_published() if published is None else published
    figure, (left, right) = style.new_figure(height=4.6)
    extra = [name for name in LEGEND_FIELDS
             if len({c.get(name) for c in members}) > 1 or name in ("masktype", "lr")]
    seen = {}
    for c in members:
        method = c.get("traintype")
        linestyle = style.series_linestyle(seen, method)
        label = f"{method} ({style.describe(c.fields, extra + own_varying_settings(method, members))}; " \
                f"{len(c.runs)} run{'s' * (len(c.runs) > 1)})"
        x = np.arange(c.epochs)
        color = style.method_color(method)
        style.band(left, x, 100 * c.arrays["testAccuracy"], color, label, linestyle)
        style.band(right, x, 100 * c.arrays["changedFraction"], color, label, linestyle)
    left.set_ylabel("test accuracy (%)")
    kinds = {c.is_flip for c in members if c.get("traintype") != style.BASELINE}
    right.set_ylabel(style.changed_label(kinds.pop()) if len(kinds) == 1
                     else "pruned or flipped fraction of weights (%)")
    for ax in (left, right):
        style.epoch_axis(ax, max(c.epochs for c in members))
    style.focus_accuracy(left, [100 * c.arrays["testAccuracy"] for c in members])
    entries = len(members) + draw_published(left, published, fields, members)
    right.set_ylim(bottom=0)
    left.set_title("Test accuracy", fontsize=10)
    right.set_title("Connections changed from the initial network", fontsize=10)
    style.legend(figure, left, beneath=entries > LEGEND_INSIDE_AT_MOST,
                 ncol=2 if entries > 2 * LEGEND_INSIDE_AT_MOST else 1)
    figure.suptitle(f"{family.capitalize()} vs Baseline: {style.title_of(fields)} "
                    "(mean, band: min-max over runs)", fontsize=11)
    return figure


def write_comparison_figures(configurations, folder, formats):
    """Writes every comparison figure into folder; returns the written paths."""
    written, published = [], load_published()
    for family, fields, members in comparison_groups(configurations):
        stem = os.path.join(folder, style.slug("compare", family, fields["nettype"], fields["initializer"],
                                               f"P1_{fields['p1']}", fields["dataset"], fields["activation"]))
        written += style.save_figure(comparison_figure(family, fields, members, published), stem, formats)
    return written

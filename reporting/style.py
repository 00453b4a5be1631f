"""One look for every figure: fixed colours per method, line styles per initializer, labels, saving.

Figures are built with matplotlib.figure.Figure (no pyplot, no display: headless by construction)
and written atomically.
"""

import os
import re
import warnings

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from methods import METHODS, get_family, method_order, reference_method  # noqa: F401 - method_order: style.method_order
from reporting.frames import varying_settings
from results.atomic import atomic_path

OTHER_COLOR = "#9467bd"  # a method this version does not know
BASELINE = reference_method()  # "Baseline": what the other methods are compared with
INITIALIZER_STYLES = {"he": "-", "glorot": ":", "heconstant": "--", "binary": "-."}
INITIALIZER_MARKERS = {"he": "o", "glorot": "s", "heconstant": "^", "binary": "D"}
INITIALIZER_LABELS = {"he": "He normal", "glorot": "Glorot normal", "heconstant": "signed He constant",
                      "binary": "binary"}
SERIES_STYLES = ("-", "--", ":", "-.")
BAND_ALPHA = 0.18
EDGE_ALPHA = 0.45
DPI = 150


def method_color(method):
    return METHODS[method].color if method in METHODS else OTHER_COLOR


def method_marker(method):
    return METHODS[method].marker if method in METHODS else "o"


def family_methods(family_name):
    """The method names of a family (methods/registry.py), in report order."""
    return get_family(family_name).method_names()


def initializer_style(initializer):
    return INITIALIZER_STYLES.get(initializer, "-")


def initializer_marker(initializer):
    return INITIALIZER_MARKERS.get(initializer, "o")


def layer_color(index, count):
    """Layers, input to output, along the viridis colour map."""
    return colormaps["viridis"](0.05 + 0.85 * index / max(1, count - 1))


def changed_label(is_flip):
    return "flipped fraction of weights (%)" if is_flip else "pruned fraction of weights (%)"


def changed_name(is_flip):
    return "flipped" if is_flip else "pruned"


def describe(fields, names):
    """'lr=0.001, masktype=flip' for the given config fields (used for legend entries)."""
    return ", ".join(f"{name}={fields.get(name)}" for name in names)


def title_of(fields, extra=""):
    """'LeNet, he, p1=0.5, mnist' plus anything extra, for figure titles."""
    init = fields.get("initializer")
    text = (f"{fields.get('nettype')}, {INITIALIZER_LABELS.get(init, init)} init, "
            f"p1={fields.get('p1')}, {fields.get('dataset')}")
    if fields.get("activation") not in (None, "relu"):
        text += f", {fields.get('activation')}"
    return f"{text}{extra}"


def slug(*parts):
    """A file-name stem: the parts joined by '_', anything but letters, digits and . _ + - replaced by '-'."""
    text = "_".join(str(part) for part in parts if part not in (None, ""))
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")


FOLDER_FIELDS = ("traintype", "nettype", "p1", "masktype", "activation", "initializer", "lr", "dataset")


def configuration_stems(configurations):
    """A unique file-name stem per configuration key: the folder fields of docs/OUTPUTS.md plus the
    data set, plus any other config field that varies between configurations (e.g. batchsize)."""
    configurations = list(configurations)
    names = sorted({k for c in configurations for k, _ in c.key} - set(FOLDER_FIELDS))
    varying = varying_settings([c.fields for c in configurations], names)
    stems, used = {}, {}
    for c in configurations:
        f = c.fields
        stem = slug(f.get("traintype"), f.get("nettype"), f"P1_{f.get('p1')}", f.get("masktype"),
                    f.get("activation"), f.get("initializer"), f"LR{f.get('lr')}", f.get("dataset"),
                    *(f"{k}{f.get(k)}" for k in varying if f.get(k) is not None))  # not another method's
        used[stem] = used.get(stem, 0) + 1
        stems[c.key] = stem if used[stem] == 1 else f"{stem}_{used[stem]}"
    return stems


def new_figure(width=11.0, height=4.2, ncols=2):
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, ncols) if ncols > 1 else [figure.subplots(1, 1)]
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.set_axisbelow(True)
    return figure, list(axes)


def series_linestyle(seen, method):
    """The line style of `method`'s next series in a figure: its first solid, each later one (another recipe of the
    same method, drawn in the method's one colour) its own. `seen` counts each method's series so far."""
    count = seen.get(method, 0)
    seen[method] = count + 1
    return SERIES_STYLES[count % len(SERIES_STYLES)]


def legend(figure, ax, beneath, ncol=1):
    """The legend of `ax`: inside the panel, where it covers least; or, when `beneath` (many or long entries, which
    would squeeze the axes or cover the curves), beneath the figure's panels in `ncol` columns, the figure grown by
    its rows."""
    if not beneath:
        ax.legend(loc="best", fontsize=7)
        return
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", fontsize=7, ncol=ncol)
    figure.set_figheight(figure.get_figheight() + 0.17 * -(-len(labels) // ncol))


def spread(values, axis):
    """Mean, min and max along an axis, ignoring NaN (all-NaN slices give NaN, quietly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (np.nanmean(values, axis=axis), np.nanmin(values, axis=axis),
                np.nanmax(values, axis=axis))


def band(ax, x, values, color, label, linestyle="-"):
    """Mean line, faint min and max lines and a shaded min-max band of an (epochs x runs) array."""
    mean, low, high = spread(values, axis=1)
    ax.fill_between(x, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)
    ax.plot(x, low, color=color, alpha=EDGE_ALPHA, linewidth=0.7, linestyle=linestyle)
    ax.plot(x, high, color=color, alpha=EDGE_ALPHA, linewidth=0.7, linestyle=linestyle)
    ax.plot(x, mean, color=color, linewidth=1.8, linestyle=linestyle, label=label)


def epoch_axis(ax, epochs):
    """Integer epoch ticks from 0 (before training) to the last epoch."""
    ax.set_xlabel("epoch (0 = before training)")
    ax.set_xlim(0, max(1, epochs - 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def focus_accuracy(ax, percent_arrays):
    """Zoom the accuracy axis on the trained epochs (1 on), so methods can be told apart at the top;
    the untrained epoch 0, far below, is then named in a note instead of squashing the curves."""
    trained = [a[1:] for a in percent_arrays if a.shape[0] > 1 and np.isfinite(a[1:]).any()]
    if not trained or max(a.shape[0] for a in trained) < 3:  # too few epochs to be worth a zoom
        return
    low = min(float(np.nanmin(a)) for a in trained)
    high = max(float(np.nanmax(a)) for a in trained)
    pad = max(0.5, 0.08 * (high - low))
    bottom, top = max(0.0, low - pad), min(100.0, high + pad)
    ax.set_ylim(bottom, top if top > bottom else bottom + 1)
    start = [float(np.nanmean(a[0])) for a in percent_arrays if np.isfinite(a[0]).any()]
    if start and min(start) < low - pad:
        values = f"{min(start):.1f}%" + (f" to {max(start):.1f}%" if max(start) - min(start) >= 0.05 else "")
        ax.text(0.02, 0.98, f"epoch 0 (untrained, off scale): {values}", transform=ax.transAxes,
                fontsize=7, color="#555555", va="top")


def save_figure(figure, stem, formats):
    """Writes figure to stem + '.' + format for each format, atomically; returns the paths."""
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    paths = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format=fmt, dpi=DPI)
        # The layout is done; keep it for the other formats instead of computing it again.
        figure.set_layout_engine("none")
        paths.append(path)
    return paths

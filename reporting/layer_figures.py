"""Per-layer figures, from remainingWeightsPerLayer (per epoch, per layer: negative, zero, positive
mask counts, then negative, zero, positive effective-weight counts).

- Remaining weights per layer at the end (last common epoch): grouped bars, one bar per
  configuration of one network and initializer; fraction remaining (nonzero mask) for Baseline and
  pruning, flipped fraction (negative mask / layer size) for flipping. Error bars: min-max over runs.
- Mask evolution per layer: fraction changed per layer (pruned or flipped) vs epoch, one line per
  layer, mean over seeds, for each configuration that trains a mask (Baseline's mask never changes).
"""

import os

import numpy as np

from reporting import style
from reporting.comparison_figures import GROUP_FIELDS
from reporting.frames import ordered_groups
from reporting.merge import configurations_of

LEGEND_FIELDS = ("masktype", "lr", "batchsize", "maxepochs")


def _layer_ticks(ax, configuration):
    names = configuration.layer_names
    sizes = configuration.layer_sizes
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([f"{n}\n({s:,})" for n, s in zip(names, sizes)], fontsize=7)


def _bars(ax, members, values_of, extra):
    width = 0.8 / max(1, len(members))
    for index, c in enumerate(members):
        values = 100 * values_of(c)[-1]  # (runs, layers) at the last common epoch
        mean, low, high = style.spread(values, axis=0)
        x = np.arange(values.shape[1]) + (index - (len(members) - 1) / 2) * width
        errors = np.nan_to_num(np.vstack([mean - low, high - mean]))
        method = c.get("traintype")
        ax.bar(x, mean, width=width * 0.95, yerr=errors, capsize=2, color=style.method_color(method),
               alpha=0.85, label=f"{method} ({style.describe(c.fields, extra)}; epoch {c.epochs - 1})")
    _layer_ticks(ax, members[0])
    ax.set_xlabel("layer (number of weights)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, ncol=2)


def layer_bar_groups(configurations):
    """(group fields, pruning-side configurations, flipping configurations) with per-layer counts."""
    found = []
    for fields, group in ordered_groups(configurations, GROUP_FIELDS):
        usable = [c for c in configurations_of(group) if c.per_layer is not None]
        usable.sort(key=lambda c: (style.method_order(c.get("traintype")), str(c.key)))
        pruning = [c for c in usable if not c.is_flip]
        flipping = [c for c in usable if c.is_flip]
        if pruning or flipping:
            found.append((fields, pruning, flipping))
    return found


def layer_bar_figure(fields, pruning, flipping):
    panels = [(members, kind) for members, kind in ((pruning, "remaining"), (flipping, "flipped")) if members]
    figure, axes = style.new_figure(width=5.5 * len(panels) + 1, height=4.6, ncols=len(panels))
    for ax, (members, kind) in zip(axes, panels):
        extra = [n for n in LEGEND_FIELDS if len({c.get(n) for c in members}) > 1 or n == "masktype"]
        if kind == "remaining":
            _bars(ax, members, lambda c: c.remaining_per_layer(), extra)
            ax.set_ylabel("weights remaining (nonzero mask, % of layer)")
            ax.set_title("Remaining weights per layer at the end", fontsize=10)
        else:
            _bars(ax, members, lambda c: c.changed_per_layer(), extra)
            ax.set_ylabel("weights flipped (negative mask, % of layer)")
            ax.set_title("Flipped weights per layer at the end", fontsize=10)
        ax.set_ylim(bottom=0)
    figure.suptitle(f"Per layer: {style.title_of(fields)} (bars: mean, whiskers: min-max over runs)",
                    fontsize=11)
    return figure


def mask_evolution_figure(configuration):
    c = configuration
    figure, (ax,) = style.new_figure(width=7.5, height=4.6, ncols=1)
    changed = 100 * style.spread(c.changed_per_layer(), axis=1)[0]  # (epochs, layers), mean over runs
    x = np.arange(c.epochs)
    colors = [style.layer_color(i, len(c.layer_names)) for i in range(len(c.layer_names))]
    for index, (name, size) in enumerate(zip(c.layer_names, c.layer_sizes)):
        ax.plot(x, changed[:, index], color=colors[index], linewidth=1.6, marker="." if c.epochs < 30 else None,
                label=f"{name} ({size:,} weights)")
    overall = 100 * style.spread(c.arrays["changedFraction"], axis=1)[0]
    ax.plot(x, overall, color="black", linestyle="--", linewidth=1.2, label="all layers")
    style.epoch_axis(ax, c.epochs)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"{style.changed_name(c.is_flip)} fraction of the layer (%)")
    ax.legend(loc="best", fontsize=7, title=f"mean of {len(c.runs)} run{'s' * (len(c.runs) > 1)}", title_fontsize=7)
    method = c.get("traintype")
    figure.suptitle(f"Mask evolution per layer, {method} ({c.get('masktype')}, lr={c.get('lr')}):\n"
                    f"{style.title_of(c.fields)}", fontsize=10)
    return figure


def write_layer_figures(configurations, folder, formats, stems):
    """Per-layer bars per network/initializer and mask evolution per configuration; returns paths.

    `stems` maps a configuration key to its file-name stem (unique within the table).
    """
    written = []
    for fields, pruning, flipping in layer_bar_groups(configurations):
        stem = os.path.join(folder, style.slug("layers", fields["nettype"], fields["initializer"],
                                               f"P1_{fields['p1']}", fields["dataset"], fields["activation"]))
        written += style.save_figure(layer_bar_figure(fields, pruning, flipping), stem, formats)
    for c in configurations_of(configurations):
        if c.per_layer is None or c.get("traintype") == style.BASELINE:
            continue
        stem = os.path.join(folder, "masks_" + stems[c.key])
        written += style.save_figure(mask_evolution_figure(c), stem, formats)
    return written

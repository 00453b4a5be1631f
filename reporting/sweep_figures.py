"""p1 sweeps: peak test accuracy and changed fraction against p1, for configurations that differ only
in p1. Points are the reporting rule's values (mean at the peak epoch of the mean curve), error bars
span the min and max over runs at that epoch. One figure per network and data set.
"""

import os

import numpy as np

from reporting import style
from reporting.frames import ordered_groups
from reporting.merge import configurations_of, setting_columns
from reporting.peak import peak_of


def sweep_series(configurations):
    """Lists of configurations (sorted by p1) that differ only in p1, with at least two p1 values, from the
    configurations frame (reporting.merge.merge_table)."""
    found = []
    for _, group in ordered_groups(configurations, setting_columns(configurations, leaving_out=("p1",))):
        members = [c for c in configurations_of(group)
                   if isinstance(c.get("p1"), (int, float)) and not isinstance(c.get("p1"), bool)]
        if len({c.get("p1") for c in members}) >= 2:
            found.append(sorted(members, key=lambda c: float(c.get("p1"))))
    return found


def sweep_figure(network, dataset, series_list):
    figure, (left, right) = style.new_figure(height=4.6)
    names = sorted({k for members in series_list for k, _ in members[0].key if k != "p1"})
    varying = [k for k in names if k not in ("traintype", "initializer", "nettype", "dataset")
               and len({members[0].get(k) for members in series_list}) > 1]
    for index, members in enumerate(series_list):
        first = members[0]
        method, init = first.get("traintype"), first.get("initializer")
        peaks = [peak_of(c) for c in members]
        p1 = np.array([float(c.get("p1")) for c in members])
        label = f"{method}, {init}" + (f" ({style.describe(first.fields, varying)})" if varying else "")
        common = dict(color=style.method_color(method), marker=style.initializer_marker(init),
                      linestyle=style.initializer_style(init), capsize=3, markersize=5, label=label)
        for ax, mean, low, high in (
            (left, [p.mean for p in peaks], [p.min for p in peaks], [p.max for p in peaks]),
            (right, [p.changed for p in peaks], [p.changed_min for p in peaks], [p.changed_max for p in peaks]),
        ):
            mean, low, high = (100 * np.array(v, dtype=float) for v in (mean, low, high))
            errors = np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)])
            ax.errorbar(p1, mean, yerr=np.nan_to_num(errors), **common)
    for ax in (left, right):
        ax.set_xlabel("p1 (probability of a +1 sign)")
    flips = {members[0].is_flip for members in series_list}
    left.set_ylabel("peak test accuracy (%)")
    right.set_ylabel(style.changed_label(flips.pop()) if len(flips) == 1
                     else "pruned or flipped fraction of weights (%)")
    left.set_title("Peak of the mean test accuracy (bars: min-max over runs)", fontsize=10)
    right.set_title("Changed fraction at that epoch (bars: min-max)", fontsize=10)
    left.legend(loc="best", fontsize=7)
    figure.suptitle(f"p1 sweep: {network}, {dataset}", fontsize=11)
    return figure


def write_sweep_figures(configurations, folder, formats):
    """Writes one sweep figure per network and data set that has a sweep; returns the paths."""
    by_network = {}
    for members in sweep_series(configurations):
        key = (members[0].get("nettype"), members[0].get("dataset"))
        by_network.setdefault(key, []).append(members)
    written = []
    for (network, dataset), series_list in sorted(by_network.items(), key=lambda kv: str(kv[0])):
        series_list.sort(key=lambda m: (style.method_order(m[0].get("traintype")), str(m[0].key)))
        stem = os.path.join(folder, style.slug("sweep_p1", network, dataset))
        written += style.save_figure(sweep_figure(network, dataset, series_list), stem, formats)
    return written

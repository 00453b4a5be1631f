"""The reference's two-panel figure for one configuration.

Left: test accuracy vs epoch. Right: pruned fraction (1 - remaining / total) vs epoch, or the
flipped fraction for masktype 'flip'. Each panel shows the mean over runs, faint min and max lines
and the shaded min-max band; a dotted line marks the peak epoch of the reporting rule.
"""

import numpy as np

from reporting import style
from reporting.peak import peak_of


def configuration_figure(configuration):
    """The two-panel Figure of a merged Configuration."""
    c = configuration
    fields = c.fields
    method = fields.get("traintype")
    color = style.method_color(method)
    x = np.arange(c.epochs)
    peak = peak_of(c)
    runs = len(c.runs)
    legend = f"{method} ({fields.get('masktype')}, lr={fields.get('lr')}): mean of {runs} run{'s' * (runs > 1)}"
    figure, (left, right) = style.new_figure()
    style.band(left, x, 100 * c.arrays["testAccuracy"], color, legend)
    style.band(right, x, 100 * c.arrays["changedFraction"], color, legend)
    for ax in (left, right):
        ax.axvline(peak.epoch, color="#777777", linestyle=":", linewidth=1,
                   label=f"peak of mean test accuracy (epoch {peak.epoch})")
        style.epoch_axis(ax, c.epochs)
    style.focus_accuracy(left, [100 * c.arrays["testAccuracy"]])
    left.set_ylabel("test accuracy (%)")
    left.set_title(f"Test accuracy; peak {100 * peak.mean:.2f}% "
                   f"[{100 * peak.min:.2f}, {100 * peak.max:.2f}]", fontsize=10)
    right.set_ylabel(style.changed_label(c.is_flip))
    right.set_title(f"{style.changed_name(c.is_flip).capitalize()} fraction; "
                    f"{100 * peak.changed:.2f}% at the peak", fontsize=10)
    left.legend(loc="best", fontsize=8)
    right.set_ylim(bottom=0)
    right.legend(loc="best", fontsize=8)
    figure.suptitle(f"{method}: {style.title_of(fields)} (band: min-max over runs)", fontsize=11)
    return figure


def write_configuration_figure(configuration, stem, formats):
    return style.save_figure(configuration_figure(configuration), stem, formats)

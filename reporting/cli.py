"""Command line of Plotter.py: results folders in, the paper's figures and tables out."""

import argparse
import os
import sys

from reporting import style
from reporting.comparison_figures import write_comparison_figures
from reporting.comparison_table import write_comparison_tables
from reporting.figures import write_configuration_figure
from reporting.layer_figures import write_layer_figures
from reporting.lottery_figures import DEFAULT_EARLY_STOPPING, EARLY_STOPPING_RULES, write_lottery_outputs
from reporting.merge import configurations_of, folder_outputs, merge_table, write_merged
from reporting.paper_table import table_rows, to_markdown, write_tables
from reporting.pruning_figures import write_pruning_outputs
from reporting.rules import DEFAULT_RULE, RULES
from reporting.runs_table import display_path, load_runs
from reporting.sanity_figures import write_sanity_outputs
from reporting.sanity_table import has_checks
from reporting.sweep_figures import write_sweep_figures
from reporting.tradeoff_figures import tradeoff_series, write_tradeoff_figures
from results import paths as file_names

PARTS = ("merged", "compare", "sweep", "layers", "table", "pruning", "lottery", "sanity", "tradeoff")
# Parts in the default set only where some run calls for them (asked for with --only, they say when none does).
OPTIONAL_PARTS = {"sanity": has_checks, "tradeoff": lambda configurations: bool(tradeoff_series(configurations))}
HINT = "run MaskTrainer.py first or pass the folder that holds the runs."

DESCRIPTION = """\
Turn the runs under the results folders into the figures and tables of the paper (headless).

Reads every {runid}_logs.json below PATH (default: Outputs), keeps the runs whose status is
'finished' (failed, running and interrupted runs are left out, one line each), groups them into
configurations (every config field but seed and outputpath; the seeds are the runs) and writes:

  merged   per configuration, next to its runs: merged.npz (epochs x runs arrays: test/val/train
           accuracy and loss, remainingWeights, remaining/flipped/changed fractions, seeds, runIds,
           per-layer counts) and merged_curves.{png,pdf} (test accuracy and pruned or flipped
           fraction vs epoch: mean, min, max and min-max band)
  compare  FIGURES/compare_{pruning,flipping}_*: Baseline vs Free/MinPruning and Baseline vs
           Free/MinFlipping overlaid per network, initializer, p1, data set
  sweep    FIGURES/sweep_p1_*: peak test accuracy and changed fraction vs p1 for configurations
           that differ only in p1 (error bars: min-max over runs)
  layers   FIGURES/layers_*: remaining (pruning) or flipped (flipping) fraction per layer at the
           last epoch; FIGURES/masks_*: changed fraction per layer vs epoch, mean over seeds
  table    TABLES/paper_table.{md,csv,tex} by the reporting rule (see --reporting-rule): n, mean
           and 95% confidence interval over seeds (Student's t; min and max too in the CSV);
           remaining or flipped and changed fractions; accuracy relative to the matching Baseline.
           The Markdown table is also printed. And TABLES/comparison_table.{md,csv,tex}: each
           method against its Baseline and against the other methods of the same network,
           initializer, data set, activation and p1, paired on the seeds both ran (mean
           difference, its 95% CI, p-value of the paired t-test)
  pruning  pruning at initialisation: FIGURES/pruning_at_init_{net}_{dataset}.{png,pdf} (test
           accuracy by the reporting rule vs sparsity, one line per method, bars: 95% CI over
           seeds) and TABLES/pruning_at_init.{md,csv} (by the reporting rule; n, mean, 95% CI)
  lottery  lottery tickets (IMP): FIGURES/lottery_{net}_{init}_{dataset}_E{epochs}.{png,pdf} (test
           accuracy at each round's early-stopping epoch, see --early-stopping, and at its end vs
           weights remaining, log axis, one line per reset, band min-max over seeds) and
           TABLES/lottery_table.{md,csv} (n, mean, 95% CI)
  sanity   sanity checks (--sanity-check), by default only where a run is one:
           TABLES/sanity_checks.{md,csv}, one row per method, network, data set, sparsity and
           other settings, per check (none, shuffle, reinit, invert) n, mean and 95% CI by the
           reporting rule, and each check minus none paired on the same seeds (mean difference,
           95% CI, paired t-test p-value); FIGURES/sanity_checks_{net}_{dataset}.{png,pdf}: per
           method, each check's accuracy per sparsity (bars: 95% CI)
  tradeoff FIGURES/tradeoff_{net}_{dataset}.{png,pdf}, by default only where a method ran at two
           sparsities (or keep fractions) or more: test accuracy by the reporting rule (mean,
           bars: 95% CI over seeds) against compression ratio and against theoretical speed-up
           (log2 axes; load_runs' compressionRatio and theoreticalSpeedup), one line per method

Every table names its reporting rule under it. --reporting-rule picks it for the paper,
comparison, pruning and sanity tables (and the sanity and trade-off figures):
  authors          each run's test accuracy at the epoch where the configuration's mean test
                   accuracy over seeds peaks (earliest on a tie); the 2020 authors' rule, which
                   selects on the test set (the default)
  best-validation  each run's test accuracy at its own epoch of best validation accuracy
                   (earliest on a tie)
  final            each run's test accuracy at the last epoch its configuration's runs share

FIGURES defaults to PATH/figures and TABLES to PATH (the first PATH when several are given).
"""

EPILOG = """\
examples:
  python Plotter.py                          everything, from Outputs/
  python Plotter.py runs/ --only table       just the paper and comparison tables
  python Plotter.py --only table --reporting-rule best-validation
  python Plotter.py --only compare,sweep --formats png --figures-dir /tmp/figs
"""


def parts_argument(value):
    """'compare,sweep' -> ['compare', 'sweep'] (argparse type of --only)."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    for part in parts:
        if part not in PARTS:
            raise argparse.ArgumentTypeError(f"unknown part '{part}' (choose from {', '.join(PARTS)})")
    return parts


def formats_argument(value):
    """'png,pdf' -> ['png', 'pdf'] (argparse type of --formats)."""
    from matplotlib.figure import Figure

    supported = Figure().canvas.get_supported_filetypes()
    formats = [f.strip().lower().lstrip(".") for f in value.split(",") if f.strip()]
    for fmt in formats:
        if fmt not in supported:
            raise argparse.ArgumentTypeError(f"unknown format '{fmt}' (choose from {', '.join(sorted(supported))})")
    if not formats:
        raise argparse.ArgumentTypeError("no format given")
    return formats


def build_parser():
    parser = argparse.ArgumentParser(prog="Plotter.py", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="results folders (or single *_logs.json files) to read; default: Outputs")
    parser.add_argument("--only", action="append", metavar="PARTS", type=parts_argument,
                        help=f"comma-separated parts to produce, from: {', '.join(PARTS)} (default: all that the runs "
                             "call for)")
    parser.add_argument("--figures-dir", metavar="DIR", help="where comparison, sweep and layer figures go")
    parser.add_argument("--tables-dir", metavar="DIR", help="where the tables (paper_table.{md,csv,tex}, ...) go")
    parser.add_argument("--formats", default=["png", "pdf"], metavar="LIST", type=formats_argument,
                        help="figure formats, comma-separated (default: png,pdf)")
    parser.add_argument("--early-stopping", choices=tuple(EARLY_STOPPING_RULES), default=DEFAULT_EARLY_STOPPING,
                        help="lottery figure and table: report each round's test accuracy at the epoch of minimum "
                             "validation loss (Frankle & Carbin's rule) or of maximum validation accuracy "
                             f"(default: {DEFAULT_EARLY_STOPPING})")
    parser.add_argument("--reporting-rule", choices=tuple(RULES), default=DEFAULT_RULE,
                        help="which epoch of each run the paper, comparison, pruning and sanity tables report (see "
                             f"above; default: {DEFAULT_RULE})")
    return parser


def unwritable(folder):
    """Why `folder` (made if missing) could not be written, or None: its nearest existing ancestor is a file, or
    cannot be written."""
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is a file"
    return None if os.access(existing, os.W_OK) else f"{existing} is not writable"


def _fail(message, code=2):
    print(message, file=sys.stderr)
    return code


def _show_written(paths, limit=8):
    """One line per figure stem (png and pdf together); a long series of one kind as one line."""
    stems = {}
    for path in paths:
        stem, ext = os.path.splitext(display_path(path))
        stems.setdefault(stem, []).append(ext.lstrip("."))
    kinds = {}
    for stem in stems:
        folder, name = os.path.split(stem)
        kinds.setdefault((folder, name.split("_")[0]), []).append(stem)
    for (folder, kind), members in kinds.items():
        exts = stems[members[0]]
        suffix = exts[0] if len(exts) == 1 else "{" + ",".join(exts) + "}"
        if len(members) > limit:
            print(f"  {os.path.join(folder, kind)}_*.{suffix} ({len(members)} figures)")
            continue
        for stem in members:
            print(f"  {stem}.{suffix}")


def run(args):
    paths = args.paths or ["Outputs"]
    parts = [part for group in args.only for part in group] if args.only else None
    formats = args.formats
    for path in paths:
        if not os.path.exists(path):
            return _fail(f"No results folder at {path}; {HINT}")
    runs = load_runs(paths)
    for note in runs.attrs["notes"]:
        print(note, file=sys.stderr)
    where = ", ".join(paths)
    if runs.empty:
        left = ", ".join(f"{count} {reason}" for reason, count in sorted(runs.attrs["left_out"].items()))
        return _fail(f"No finished runs found under {where}{f' ({left} left out)' if left else ''}; {HINT}")
    configurations = merge_table(runs)
    if parts is None:
        parts = [part for part in PARTS if part not in OPTIONAL_PARTS or OPTIONAL_PARTS[part](configurations)]
    merged = configurations_of(configurations)
    for configuration in merged:
        for note in configuration.notes:
            print(note, file=sys.stderr)
    root = paths[0] if os.path.isdir(paths[0]) else os.path.dirname(paths[0]) or "."
    figures_dir = args.figures_dir or os.path.join(root, file_names.FIGURES_FOLDER)
    tables_dir = args.tables_dir or root
    # Checked before anything is written: the merged arrays go next to the runs first.
    for flag, folder in (("--figures-dir", figures_dir), ("--tables-dir", tables_dir)):
        problem = unwritable(folder)
        if problem:
            return _fail(f"{flag} {folder} cannot be written ({problem}); pass a folder you can write.")
    print(f"Read {len(runs)} finished runs of {len(configurations)} configurations under {where}.")

    if "merged" in parts:
        lines = []
        for configuration, folder, stem in folder_outputs(merged):
            written = [write_merged(configuration, os.path.join(folder, f"{stem}.npz"))]
            written += write_configuration_figure(configuration, os.path.join(folder, f"{stem}_curves"), formats)
            lines.append(f"  {display_path(folder)}/: " + ", ".join(os.path.basename(p) for p in written))
        print(f"Merged arrays and curves, next to the runs ({len(lines)} folders):")
        if len(lines) > 12:
            lines = lines[:3] + [f"  ... and {len(lines) - 3} more folders under {where}"]
        print("\n".join(lines))
    figure_parts = [
        ("compare", "Method comparisons", lambda: write_comparison_figures(configurations, figures_dir, formats)),
        ("sweep", "p1 sweeps", lambda: write_sweep_figures(configurations, figures_dir, formats)),
        ("layers", "Per-layer figures", lambda: write_layer_figures(
            configurations, figures_dir, formats, style.configuration_stems(merged))),
        ("pruning", "Pruning at initialisation", lambda: write_pruning_outputs(
            configurations, figures_dir, tables_dir, formats, args.reporting_rule)),
        ("lottery", "Lottery tickets", lambda: write_lottery_outputs(
            configurations, figures_dir, tables_dir, formats, args.early_stopping)),
        ("sanity", "Sanity checks", lambda: write_sanity_outputs(
            configurations, figures_dir, tables_dir, formats, args.reporting_rule)),
        ("tradeoff", "Trade-off", lambda: write_tradeoff_figures(
            configurations, figures_dir, formats, args.reporting_rule)),
    ]
    for part, title, draw in figure_parts:
        if part not in parts:
            continue
        written = draw()
        if written:
            print(f"{title}:")
            _show_written(written)
        else:
            print(f"{title}: none (no configurations that call for one).")
    if "table" in parts:
        rows = table_rows(configurations, args.reporting_rule)
        written = write_tables(rows, tables_dir) + write_comparison_tables(rows, tables_dir)
        print("Paper and comparison tables:")
        _show_written(written)
        print()
        print(to_markdown(rows), end="")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except OSError as error:
        return _fail(f"Cannot write the outputs: {error}", code=1)
    except KeyboardInterrupt:
        return _fail("Interrupted.", code=130)

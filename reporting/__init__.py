"""Reporting: results folders -> one pandas table of runs -> configurations, figures and tables.

    from reporting import load_runs
    runs = load_runs("Outputs")          # one row per run (reporting/runs_table.py)
    runs.groupby(["nettype", "traintype"])["peakTestAccuracy"].mean()

Modules, one concern each:
  runs_table          walk folders for {runid}_logs.json into the runs DataFrame
  merge               the runs of one configuration -> (epochs x runs) arrays (merged.npz); configurations frame
  frames              ordered groups, total order over mixed values, Markdown and LaTeX tables
  peak                the authors' reporting rule (peak of the mean test-accuracy curve)
  rules               the reporting rules Plotter.py --reporting-rule picks from: each run's reported epoch
  statistics          n, mean, 95% confidence interval, paired t-test (scipy.stats), for every table
  paper_table         the paper table as Markdown, CSV and LaTeX
  comparison_table    configurations against their Baseline and each other, paired on seeds
  style               colours per method (from methods/), labels, file names, atomic figure saving
  figures             the reference's two-panel figure per configuration
  comparison_figures  Baseline vs pruning / flipping methods overlaid
  sweep_figures       peak accuracy and changed fraction against p1
  layer_figures       per-layer remaining/flipped fractions and mask evolution
  lottery_figures     lottery tickets: accuracy vs weights remaining, and its table
  pruning_figures     pruning at initialisation: peak accuracy vs sparsity, and its table
  published           published figures as data (published.csv): load, match, the paper table's note
  sanity_table        each criterion's mask beside its sanity checks, paired on seeds
  sanity_figures      the sanity checks' accuracy per method and sparsity
  tradeoff_figures    accuracy against compression ratio and theoretical speed-up, one line per method
  cli                 the command line of Plotter.py
"""

from reporting.runs_table import load_runs

__all__ = ["load_runs"]

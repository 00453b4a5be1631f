"""Reporting: results folders -> one table of runs -> merged arrays, figures and the paper table.

Modules, one concern each:
  table               a small DataFrame-like Table of records (filter, group_by, unique, sort_by)
  runs_table          walk folders for {runid}_logs.json into a Table of finished RunRecords
  merge               the runs of one configuration -> (epochs x runs) arrays (merged.npz)
  peak                the authors' reporting rule (peak of the mean test-accuracy curve)
  paper_table         the paper table as Markdown, CSV and LaTeX
  style               colours per method, labels, file names, atomic figure saving
  figures             the reference's two-panel figure per configuration
  comparison_figures  Baseline vs pruning / flipping methods overlaid
  sweep_figures       peak accuracy and changed fraction against p1
  layer_figures       per-layer remaining/flipped fractions and mask evolution
  pruning_figures     pruning at initialisation: peak accuracy vs sparsity, and its table
  cli                 the command line of Plotter.py

Uses numpy, matplotlib (no pyplot, headless) and the standard library only.
"""

"""Pruning at initialisation (Haroon 2022, arXiv:2209.02201): a 0/1 mask fixed early, weights train under it.

Methods (declared in methods/pruning_at_initialisation.py, run by `experiment.PruningAtInitExperiment`):
  RandomPruning         one random mask at sparsity S, fixed from the start
  KStarts               K random masks train briefly from the same weights; the fittest goes on
  DissipatingGradients  dense start; weights that barely move in the first epochs are removed
  KStartsDG             K starts, each refined by dissipating gradients
  SNIP, GraSP, SynFlow, MagnitudeAtInit  one mask chosen at initialisation by the criterion's scores (criteria/,
                         one module each), or a sanity check of it (sanity.py)

Modules, one concern each:
  masks          random S-sparse masks, layerwise or global, and their sparsity (numpy)
  dissipation    the dissipating-gradients removal rule (numpy)
  fitness        candidate fitness and the choice of the fittest (numpy)
  variables      copies of model and optimizer variables, masks applied to kernels and Adam moments
  selection      bookkeeping of the K candidates (JSON and arrays for checkpoints)
  experiment     the Experiment subclass that runs all eight methods
"""

"""What a finished run hands on (Export.py): a compressed supermask, and a plain Keras model.

Modules, one concern each:
  run_files    a finished run's logs, settings and weight files, found from its logs path or run ID
  supermask    one bit per weight plus the seed (and the ResNets' BatchNorm values): written, checked against
               the regenerated kernels, loaded
  plain_keras  a .keras file of Keras' own layers (the run's network built with a plain layer factory) with the
               effective weights and the ResNets' BatchNorm values baked in
  check        the test accuracy recomputed from the exported files alone
"""

from export.check import check_exports
from export.plain_keras import plain_model, write_keras_model
from export.run_files import ExportError, find_finished_run
from export.supermask import SupermaskError, load_supermask, write_supermask

__all__ = ["ExportError", "SupermaskError", "check_exports", "find_finished_run", "load_supermask", "plain_model",
           "write_keras_model", "write_supermask"]

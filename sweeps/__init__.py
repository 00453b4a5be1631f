"""The sweep command's parts: grid files (grid), earlier runs on disk (runner/existing_runs), the executors that run
MaskTrainer.py processes (backends; execution for the interface and the local one, ray_*, slurm_*) and the
progress lines (progress). Sweep.py puts them together."""

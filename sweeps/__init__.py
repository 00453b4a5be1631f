"""The sweep command's parts: grid files (grid), earlier runs on disk (existing_runs), running many
MaskTrainer.py processes (execution) and the progress lines (progress). Sweep.py puts them together."""

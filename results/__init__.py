"""Writing and reading what runs produce: atomic files, JSON logs, CSV curves, npz arrays."""

"""Training methods, compiled steps and the loop that runs one experiment."""

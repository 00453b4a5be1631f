"""Lottery tickets (Frankle & Carbin 2019): iterative magnitude pruning with original-init rewind or
random reinitialisation, on the masked layers with a fixed 0/1 mask."""

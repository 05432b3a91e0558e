"""Data shipped with fpgac: the MNIST test set and a 5k training subset (see mnist/README.md)."""

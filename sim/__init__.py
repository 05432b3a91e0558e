"""Golden integer model, input preprocessing, MNIST data, and RTL simulation."""

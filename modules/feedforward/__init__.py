"""Feedforward networks: the multilayer perceptron, in PyTorch, Keras and from scratch in NumPy."""

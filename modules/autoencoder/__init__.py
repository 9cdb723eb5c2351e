"""Autoencoders: a convolutional one and an MLP one, trained to reconstruct their input."""

"""Reservoir computing: the echo state network."""

"""Generative adversarial networks: DCGAN."""

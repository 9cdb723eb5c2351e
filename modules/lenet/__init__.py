"""LeNet-5: `spec` (framework-free tables, registry entries), `torch_net` and `keras_net` (twin builders)."""

"""What both twins of a family share: the framework-free layer plans (`plans`) and, per
framework, the layers that make one side behave like the other (`torch_layers`,
`keras_layers`: batch-norm conventions, torch-style initialisers, padding, activations)."""

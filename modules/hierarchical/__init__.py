"""Hierarchical attention: HAN and its flat baseline, document classifiers."""

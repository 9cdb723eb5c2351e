"""Framework-free registry entries, one file per architecture family.

Every module in this package is imported by `modules.registry` on first use;
each calls `register(...)` for the architectures of its family and holds the
variant tables (layer widths, block counts) that both framework files read.
"""

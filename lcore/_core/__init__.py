"""Compiled kernels (Cython over csrc/).  Private: use the public API in :mod:`lcore`."""

"""Glue to other libraries; each submodule imports its library only when it is imported.

- :mod:`lcore.integrations.optuna`: :class:`~lcore.integrations.optuna.LcorePruner`, lcore's
  stopping rules as an Optuna pruner (needs ``optuna``; ``pip install lcore[optuna]``).
"""

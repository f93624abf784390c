"""Glue to other libraries; each submodule imports its library only when it is imported.

- :mod:`lcore.integrations.optuna`: :class:`~lcore.integrations.optuna.LcorePruner`, lcore's
  stopping rules as an Optuna pruner (needs ``optuna``; ``pip install lcore[optuna]``).
- :mod:`lcore.integrations.ray`: :class:`~lcore.integrations.ray.LcoreTuneScheduler`, a Ray
  Tune trial scheduler (needs ``ray[tune]``; ``pip install lcore[ray]``).
- :mod:`lcore.integrations.synetune`: :class:`~lcore.integrations.synetune.LcoreScheduler`, a
  Syne Tune scheduler wrapping another one (needs ``syne-tune``; ``pip install
  lcore[synetune]``).

The Ray Tune and Syne Tune schedulers translate each result onto
:meth:`lcore.stopping.Monitor.report` (one result = one epoch) and decide exactly as Monitor.
"""

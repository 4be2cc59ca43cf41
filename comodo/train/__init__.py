"""Training: :class:`~comodo.train.config.DistillConfig` and :func:`~comodo.train.loop.distill`."""

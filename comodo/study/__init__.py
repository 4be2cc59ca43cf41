"""The study that drives both methods: cached run sweeps, notebooks' analyses and figures, the
authors' numbers, reports and the ``comodo study`` command. ``comodo`` (COMODO's runs) and
``egodistill`` hold each method's study; the rest is shared."""

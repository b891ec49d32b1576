"""The NetworkPolicy engine: pure Python, objects in, verdicts with reasons out.

Nothing here knows about clusters or UI: :mod:`parse` turns API objects into
the model, :mod:`evaluate` decides one connection and explains it, :mod:`matrix`
computes full connectivity by groups of alike pods, :mod:`diff` compares the
meaning of two policy sets, :mod:`lint` finds the classic mistakes in YAML.
"""

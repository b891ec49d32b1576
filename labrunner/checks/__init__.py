"""Checks: does the cluster hold what a step asks for? Each kind reads the cluster
through the port (:mod:`labrunner.cluster.port`) and says what it found, in words."""

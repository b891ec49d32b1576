"""The built-in sandbox cluster: a local API server that real kubectl and the
official kubernetes client accept, so a learner needs no cluster of their own.

It runs as its own process (``python -m labrunner.sandbox.server``), on
127.0.0.1 only, over HTTPS with a CA of its own and a bearer token; everything
it keeps lives in labrunner's state folder (:mod:`labrunner.sandbox.files`).
"""

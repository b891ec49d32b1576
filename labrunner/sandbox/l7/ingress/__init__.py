"""Ingress: the API's rules (objects.py), ingress-nginx's choice of Ingresses and its status
(controller.py), its location matching (matching.py, pure) and its answers (server.py)."""

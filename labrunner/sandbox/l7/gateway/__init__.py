"""The Gateway API as NGINX Gateway Fabric 1.6 implements it: which routes attach where
(attachment.py, pure), which rule a request takes (routing.py, pure), the statuses its
controller writes (controller.py) and what its nginx answers (server.py)."""

"""Workshop mode: an instructor runs a room of learners on one shared cluster (core: no UI, no
cluster client; cluster calls go through :mod:`labrunner.cluster.port`).

Where things live (all in the cluster, labelled ``labrunner.dev/workshop=WS``):

- the workshop namespace ``labrunner-ws-WS``: the ``workshop`` ConfigMap (lab, learners and
  their parameters, end time, timer, announcements; learners may read it), and per learner a
  ServiceAccount ``learner-ID``, a Secret its tokens are bound to, a Role and RoleBinding, the
  progress record ConfigMap ``progress-ID`` and heartbeat Lease ``heartbeat-ID`` (each writable
  by that learner only), and ``verified-ID`` (the instructor's verifications, written by the
  instructor alone);
- the learner's lab namespaces (the lab's namespace parameters renamed per learner), with a
  ResourceQuota, a LimitRange and a RoleBinding to the built-in ClusterRole ``admin``.

Modules: :mod:`.names` (naming), :mod:`.records` (record shapes, encode/decode), :mod:`.stuck`
(who is stuck, grouping by failing reason), :mod:`.objects` and :mod:`.sizing` (the manifests),
:mod:`.kubeconfigs` (learners' kubeconfigs and the sheet), :mod:`.store` (the learner's
``ProgressStore`` and heartbeat), :mod:`.reader` (reading and watching the room),
:mod:`.service` and :mod:`.verification` and :mod:`.doctor` (the instructor's commands).
"""

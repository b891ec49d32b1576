"""The plugins the sandbox's CoreDNS simulates, one module per plugin or family of plugins;
each has a ``setup`` that reads its directive as the real plugin does."""

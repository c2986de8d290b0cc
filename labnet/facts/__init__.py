"""Facts read from the target, never hand-typed: instance types, zones and offerings (``instances``),
the account's quotas and holdings (``account``), and the documented quota defaults they fall back to
(``quotas.json``). Readers only: the planning and analysis layers reason over what they return."""

"""What a person reads: pandas tables (``tables``), the topology picture (``diagram``), the connectivity
heatmap (``heatmap``), live progress (``display``), launcher configs (``launchers``) and the one figure
helper they share (``figure``). Views take parsed data (:class:`labnet.outputs.StackOutputs`, specs,
analysis rows) and make no AWS call."""

"""Analyses of a network: what the target actually lets through (verify), what the account's quotas
allow (quotas) and what the network means for a training run (traffic).

Each analysis keeps reading (AWS calls) apart from reasoning (pure functions of plain data), so the
reasoning is property-testable without any AWS at all and the same code serves the emulator and AWS.
"""

"""Signed checkpoints (tree heads): what the log looked like, vouched for with Ed25519."""

"""Inclusion and consistency proofs (RFC 9162) against signed checkpoints."""

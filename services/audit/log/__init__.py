"""The log itself: canonical entries, the hash chain and the Merkle tree (no I/O here)."""

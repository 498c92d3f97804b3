"""Client records: an agency registers, updates, reads and searches its own clients."""

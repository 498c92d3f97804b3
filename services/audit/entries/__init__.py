"""Searching the log: auditors by any field, clients for their own record only."""

"""Consents: recorded by a caseworker or granted by the client, versioned, never rewritten."""

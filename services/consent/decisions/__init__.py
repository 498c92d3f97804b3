"""The sharing decision over HTTP, and the revision that proves how current it is."""

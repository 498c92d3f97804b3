"""The register of data sharing agreements and statutory gateways, and their lifecycle."""

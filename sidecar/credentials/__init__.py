"""Verifiable credentials without a network: keys, Data Integrity proofs, Open Badges 3.0, status lists,
the RFC 9162 Merkle log and offline verification bundles.

Pure functions over JSON and bytes: nothing here touches the database, the settings or the web, so
`drona verify` and the sidecar share one implementation (see docs/certificates.md).
"""

"""Signing documents: the signer backends (PKCS#12, external CMS), PAdES apply and validate, the sign tasks."""

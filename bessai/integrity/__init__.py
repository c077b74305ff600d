"""What the package ships and the SHA-256 digests it shipped with (IEC 62443-3-3 SR 3.2)."""

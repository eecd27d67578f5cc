"""The vault: envelope encryption of credentials and payloads, data keys, KEK rotation."""

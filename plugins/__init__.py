"""Built-in plugins (installed as ``hub_plugins``)."""

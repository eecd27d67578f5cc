"""Built-in trigger kinds (installed as ``hub_triggers``)."""

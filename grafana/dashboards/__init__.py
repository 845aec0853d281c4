"""One module per dashboard; each exposes ``UID`` and ``build(cfg) -> Dashboard``."""

"""The endoscopy world: the colon's contents at millimetre scale — polyps by Paris type
(:mod:`.polyps`), clutter (:mod:`.clutter`: bubbles, fluid, stool, blood), their surface textures
(:mod:`.textures`) and labels (:mod:`.labels`). Registered through entry points (pyproject.toml)."""

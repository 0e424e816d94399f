"""The endoscopy world: colonic anatomy at metric scale (a colon is centimetres wide; the bent lumen
itself is :mod:`synthdata.scene.lumen`) and its appearance (the ``mucosa`` texture, :mod:`.mucosa`);
a colonoscope's camera moving inside it without ever touching the wall (:mod:`.scope`); the colon's
contents at millimetre scale — polyps by Paris type (:mod:`.polyps`), clutter (:mod:`.clutter`:
bubbles, fluid, stool, blood), their surface textures (:mod:`.textures`) and labels (:mod:`.labels`).
Instruments from the scope's working channel (:mod:`.instruments`).
Registered through entry points (pyproject.toml)."""

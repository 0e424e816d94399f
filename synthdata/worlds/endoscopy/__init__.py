"""The endoscopy world: colonic anatomy at metric scale (a colon is centimetres wide; the bent lumen
itself is :mod:`synthdata.scene.lumen`), its appearance (the ``mucosa`` texture, :mod:`.mucosa`) and
a colonoscope's camera moving inside it without ever touching the wall (:mod:`.scope`)."""

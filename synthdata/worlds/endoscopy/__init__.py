"""The endoscopy world: a colonoscope's camera moving inside the bent, metric lumen
(:mod:`synthdata.scene.lumen`) without ever touching its wall (:mod:`.scope`)."""

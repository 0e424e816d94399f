"""The endoscopy world: colonic anatomy at metric scale (a colon is centimetres wide) and its
appearance: the ``mucosa`` texture (:mod:`.mucosa`); instruments from the scope's working channel
(:mod:`.instruments`)."""

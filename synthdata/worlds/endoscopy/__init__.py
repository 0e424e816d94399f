"""The endoscopy world: the colon's anatomy and what the scope sees in it — instruments from the
working channel (:mod:`.instruments`)."""

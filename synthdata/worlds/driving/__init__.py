"""The driving world: traffic that keeps its distance (IDM car-following, MOBIL lane changes) on a
straight multi-lane road, with the ego camera as one of the agents (:mod:`.traffic`)."""

"""Class activation maps: the maps, the cam stage and its figures."""

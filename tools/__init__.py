"""Build-time helpers (the font reducer); nothing imports them at run time."""

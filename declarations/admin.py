"""The declarations' officer pages live in the officers app (`officers/admin_declarations.py`),
which sits above declarations (README "Architecture"): registered from `officers.admin`."""

"""Archive and retention: what happens to closed cases, and (to come) the Noark 5 export."""

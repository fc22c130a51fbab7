"""``saksflyt demo``: a synthetic month of applications, and its printed summary."""

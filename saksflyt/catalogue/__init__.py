"""The published service catalogue: what each service is, its law, clocks and form."""

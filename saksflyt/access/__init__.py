"""Who may do what: bearer tokens, roles per municipality, the read-access log."""

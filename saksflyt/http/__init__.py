"""The HTTP API: commands, reads, attachments and the dashboard (``saksflyt serve``)."""

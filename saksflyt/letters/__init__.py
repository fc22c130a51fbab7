"""Letters saksflyt writes (brev): the application as received, receipts, notices, decisions.

Each letter is rendered from a template file (Jinja2) and can be turned into PDF/A for the
archive. Templates live under ``templates/<language>/``; a service that words a letter
differently has its own file under ``templates/<language>/<service>/``.
"""

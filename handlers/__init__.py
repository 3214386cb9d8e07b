"""Thin entry points: parse the request, call bot/, reply. One module per surface, each with register()."""

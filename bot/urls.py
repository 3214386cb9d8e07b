"""URLs as people see them: never with their userinfo (`user:password@`)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def without_userinfo(url: str) -> str:
    """`http://user:pw@host:8083/x` -> `http://host:8083/x`. Any URL shown in Slack, a plan or a log goes
    through here: the redactor masks passwords it recognises, this removes the credentials outright."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))

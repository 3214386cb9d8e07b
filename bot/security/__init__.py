"""Request security: Slack's request signature, replay protection, and input hygiene at the edges."""

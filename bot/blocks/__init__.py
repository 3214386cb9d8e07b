"""Pure Block Kit builders: data in, list[dict] out. Tested without Slack."""

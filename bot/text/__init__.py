"""Text renderers shared by the demo and the postmortem."""

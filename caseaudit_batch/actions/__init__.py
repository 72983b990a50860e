"""Actions: the action register, the trackers and their rules, and the measures."""

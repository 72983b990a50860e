"""Follow-up audits: when they are due, the register, and the measures."""

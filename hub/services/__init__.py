"""Service functions: the operations the API and the CLI share (keyword-only arguments)."""

"""AI steps: the model call contract, routing policies, budgets and the governance runner."""

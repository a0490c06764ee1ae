"""Customer views: thin. Each fetches through exchange_groups.access (scoped to the
user's services), calls at most one service function, and picks a response."""

"""Services: the functions that change state, shared by the dashboard, the API and the CLI."""

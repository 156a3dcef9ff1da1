"""Running one task run or flow run: resolve inputs, propose states, call the function, retry."""

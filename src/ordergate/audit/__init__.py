"""The audit log: who did what to a store, when and from where (operators, staff, machines)."""

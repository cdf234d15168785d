"""The answer path as named stages: understand -> select -> evidence -> phrase -> verify -> table / extractive."""

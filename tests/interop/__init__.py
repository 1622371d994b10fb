"""Interop tests and helpers that run the real TanStack AI npm packages under Node."""

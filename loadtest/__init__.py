"""Load generation, simulations and benchmark reports for banditd (not part of the package)."""

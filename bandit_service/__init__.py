"""banditd: multi-armed-bandit traffic allocation for rolling out ML model versions."""

__version__ = "0.1.0"

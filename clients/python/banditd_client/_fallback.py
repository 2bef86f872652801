"""Serving an experiment's default arm when banditd cannot be reached (opt-in).

Shared by BanditClient and AsyncBanditClient: which default arm is known for each
experiment, how many fallbacks happened, and the one warning per experiment.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from banditd_client._wire import Message, fallback_decision
from banditd_client.decision import Decision
from banditd_client.errors import BanditError, ServiceUnreachable

logger = logging.getLogger(__name__)


class DefaultArms:
    """The default arm of each experiment, and the fallbacks served from it."""

    def __init__(
        self, target: str, enabled: bool, configured: Mapping[str, tuple[str, str]] | None
    ) -> None:
        self.target = target
        self.enabled = enabled
        # Arms the application configured win over arms learned from responses: they are
        # what the operator chose to serve when banditd is down.
        self._configured = dict(configured or {})
        self._learned: dict[str, tuple[str, str]] = {}
        self._by_experiment: dict[str, int] = {}
        self._lock = threading.Lock()

    def learn(self, experiment: str, response: Message) -> None:
        """Remembers the default arm named by a successful DecideResponse."""
        if not self.enabled or not response.default_arm:
            return
        arm = (response.default_arm, response.default_version)
        # A dict store is atomic under the GIL; no lock on the hot path.
        if self._learned.get(experiment) != arm:
            self._learned[experiment] = arm

    def serve(self, experiment: str, error: BanditError) -> Decision | None:
        """The fallback Decision for a Decide that failed with `error`.

        None when fallback does not apply (not enabled, or the server did answer); raises
        when it applies but no default arm is known for the experiment.
        """
        if not self.enabled or not isinstance(error, ServiceUnreachable):
            return None
        arm = self._configured.get(experiment) or self._learned.get(experiment)
        if arm is None:
            raise type(error)(
                error.code,
                f"{error.details} (and no default arm is known for experiment "
                f"{experiment!r} to fall back to: pass fallback_arms={{{experiment!r}: "
                "(arm, version)}, or let one Decide succeed first)",
            ) from error
        with self._lock:
            seen = self._by_experiment.get(experiment, 0)
            self._by_experiment[experiment] = seen + 1
        if seen == 0:
            logger.warning(
                "banditd at %s failed (%s: %s); experiment %r falls back to its default arm "
                "%r. Further fallbacks are counted in fallback_count, not logged.",
                self.target,
                error.code.name,
                error.details,
                experiment,
                arm[0],
            )
        return fallback_decision(experiment, arm[0], arm[1])

    @property
    def count(self) -> int:
        with self._lock:
            return sum(self._by_experiment.values())

    @property
    def by_experiment(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_experiment)

"""The strategy registry: each kind's Strategy (settings model, traffic stages, label, hand stepping), by kind.

Flagger's factory that picks one by kind: a strategy is a Strategy subclass in its own module, registered
once; the config union, plan generation, the CLI's --strategy and the deploy wizard all read this registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.config.strategies import (
    STRATEGY_CLASSES,
    LoadTest,
    Probes,
    StrategySettings,
    register_settings,
    unregister_settings,
)
from core.errors import BadInput
from core.model.plan import Mode, PlanError

if TYPE_CHECKING:
    from core.strategies.builder import PlanBuilder

S = TypeVar("S", bound=StrategySettings)

DEFAULT_WINDOW_S = 300
"""The window used for a strategy that has none of its own (rolling): a verification's, another kind's."""


class Strategy(ABC, Generic[S]):
    """One way of moving traffic to a new revision; subclass it in a module of its own and register() it."""

    settings: type[S]
    """The model of its settings in an environment's `strategy` table; its `kind` default names the strategy."""
    steppable_by_hand: bool = False
    """Its traffic steps can wait for an operator (mode manual); otherwise it is only offered running on its own."""

    @property
    def kind(self) -> str:
        return str(self.settings.model_fields["kind"].default)

    @abstractmethod
    def traffic_stages(self, plan: PlanBuilder, settings: S) -> None:
        """Append the stages that move the websocket server's traffic to the new revision, once it is verified.

        On a first deploy (`plan.first_deploy`) there is no stable revision to share traffic with:
        a strategy that shares it calls `plan.one_switch(window, replacing=self.kind)` instead.
        """

    @abstractmethod
    def settings_like(self, base: StrategySettings, window_s: int) -> S:
        """Settings of this kind for one deployment to an environment configured with `base` (another kind):
        the same criteria and triggers, and `window_s` wherever this kind has a window."""

    def window_s(self, settings: S) -> int | None:
        """Its analysis or observation window, if it has one."""
        return None

    def default_mode(self, settings: S) -> Mode:
        """Whether its traffic steps wait for an operator when the deployment does not say."""
        return "auto"

    def keeps_previous_addressable(self, settings: S) -> bool:
        """Whether finalize tags the replaced revision so a switch-back needs no redeploy."""
        return True

    def load_test(self, settings: S) -> LoadTest | None:
        """Synthetic load to send during its analysis windows, if configured."""
        return None

    def probes(self, settings: S) -> Probes | None:
        """The engine's probe bursts during its analysis windows (core.engine.steps.probes), if it has them on."""
        return None

    def summary(self, settings: S, *, compact: bool = False) -> str:
        """One line for a pipeline's description (`compact`: for a GitHub variable, without spaces in lists)."""
        return self.kind

    def modes(self) -> tuple[Mode, ...]:
        """The modes an operator can choose for one deployment."""
        return ("manual", "auto") if self.steppable_by_hand else ("auto",)

    def label(self, mode: str) -> str:
        """How a choice of this strategy reads in the wizard and its confirmation: the mode only when it matters."""
        return f"{self.kind} · {mode}" if self.steppable_by_hand else self.kind


_STRATEGIES: dict[str, Strategy[Any]] = {}


def register(strategy: Strategy[S]) -> Strategy[S]:
    """Make `strategy` plannable and choosable under its kind; its settings model is accepted by the config too."""
    kind = strategy.kind
    if STRATEGY_CLASSES.get(kind) is not strategy.settings:
        register_settings(strategy.settings)  # refuses a kind another settings model already has
    if _STRATEGIES.setdefault(kind, strategy) is not strategy:
        raise ValueError(f"the strategy kind {kind!r} is already registered, by {type(_STRATEGIES[kind]).__name__}")
    return strategy


def unregister(kind: str) -> None:
    """Forget the strategy of `kind` and its settings (a test that registered one puts things back)."""
    _STRATEGIES.pop(kind, None)
    unregister_settings(kind)


def registered() -> tuple[Strategy[Any], ...]:
    """Every registered strategy, in the order registered."""
    return tuple(_STRATEGIES.values())


def kinds() -> tuple[str, ...]:
    return tuple(_STRATEGIES)


def either() -> str:
    """The registered kinds as a sentence lists them: "blue-green, canary or rolling"."""
    names = kinds()
    if len(names) < 2:
        return names[0] if names else "none"
    return f"{', '.join(names[:-1])} or {names[-1]}"


def strategy_for(kind: str) -> Strategy[Any]:
    """The strategy of `kind`; BadInput naming the registered kinds when there is none."""
    try:
        return _STRATEGIES[kind]
    except KeyError:
        raise BadInput(f"unknown strategy {kind!r}; choose {either()}") from None


def strategy_of(settings: object) -> Strategy[Any]:
    """The strategy these settings are for; PlanError when they are not a registered strategy's settings."""
    kind = getattr(settings, "kind", None)
    strategy = _STRATEGIES.get(kind) if isinstance(kind, str) else None
    if strategy is None or not isinstance(settings, strategy.settings):
        raise PlanError(f"Cannot plan with {type(settings).__name__}: expected a {either()} strategy.")
    return strategy


# One-line questions about an environment's configured strategy, for callers outside core.strategies.


def window_of(settings: StrategySettings) -> int:
    """Its analysis or observation window, or DEFAULT_WINDOW_S for a strategy without one."""
    return strategy_of(settings).window_s(settings) or DEFAULT_WINDOW_S


def mode_of(settings: StrategySettings) -> Mode:
    """Its configured mode: manual only for a strategy stepped by hand and configured so."""
    return strategy_of(settings).default_mode(settings)


def load_test_of(settings: StrategySettings) -> LoadTest | None:
    """The synthetic load its analysis asks for, or None."""
    return strategy_of(settings).load_test(settings)


def probes_of(settings: StrategySettings) -> Probes | None:
    """The probe bursts its analysis sends (on by default for canary and blue-green), or None."""
    return strategy_of(settings).probes(settings)


def summary_of(settings: StrategySettings, *, compact: bool = False) -> str:
    """One line naming it and what sets it apart (a canary's steps and mode)."""
    return strategy_of(settings).summary(settings, compact=compact)

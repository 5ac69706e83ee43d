"""Sharing strategies: how the children of one run share weights, one module per strategy.

A strategy answers, for a run config, which children the run trains, how many of the cells
after the stem they all share (later cells exist once per child), and whether they share the
classifier. The run config's validation, the super-net and the plan's cost model ask it and
never compare the strategy's name. Adding a strategy is one module here, one line in
STRATEGIES and its config keys in the run config and the schema.
"""

from __future__ import annotations

from nas.core.sharing.base import Strategy
from nas.core.sharing.groups import Groups
from nas.core.sharing.prefix import Prefix
from nas.core.sharing.share_all import ShareAll

STRATEGIES: dict[str, Strategy] = {
    "all": ShareAll(),
    "groups": Groups(),
    "prefix": Prefix(),
}


def strategy_of(cfg) -> Strategy:
    """The strategy a run config names (config key `sharing`, checked by nas.core.config)."""
    return STRATEGIES[cfg.sharing]


__all__ = ["STRATEGIES", "Strategy", "strategy_of"]

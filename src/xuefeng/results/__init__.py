"""Results of campaign runs: the contract between the engine and its readers."""

from xuefeng.results.model import BATTLE_CATEGORIES, CATEGORIES, Outcome, Results

__all__ = ["BATTLE_CATEGORIES", "CATEGORIES", "Outcome", "Results"]

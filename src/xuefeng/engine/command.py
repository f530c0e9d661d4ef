"""Command and control: orders take time to reach the units (DESIGN.md §2).

A plan phase is *issued* when its date comes or its trigger fires; it becomes
*effective* for its units only after a command delay. The delay is drawn per
replication and phase (one uniform from the step's random block):

    delay_steps = round(base_delay_hours[side] * factor / step_hours),
    factor = liaison_factor if the side has a liaison/advisory system else 1,
             times (1 - spread + 2 * spread * u)

The liaison system is a scenario parameter (engine.yaml `sides.<id>.liaison_system`),
never a name in code. It also lets close air support be called where it is
needed (see `air.AirParams.cas_liaison_multiplier`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CommandParams:
    base_delay_hours: float = 24.0
    """Hours from an order's issue to its execution by divisions (assumption: 1940s
    Chinese/Japanese corps-level orders by wire/courier took about a day to become
    movement in mountain country; cf. Dupuy's 'command delay' of 1 day for corps)."""
    liaison_factor: float = 0.4
    """Multiplier on the delay for a side with a liaison/advisory system (assumption:
    US liaison teams with radios at division level cut relay time to a few hours;
    seed: 'the advisory and liaison system was immediately called into play')."""
    spread: float = 0.5
    """Relative spread of the delay (uniform +-50%; assumption: courier/weather luck)."""


def delay_steps(p: CommandParams, liaison: np.ndarray, u: np.ndarray, step_hours: float) -> np.ndarray:
    """Delay in whole steps for phases of sides with `liaison` (bool, broadcast
    against the uniforms `u`)."""
    f = np.where(liaison, p.liaison_factor, 1.0) * (1.0 - p.spread + 2.0 * p.spread * u)
    return np.rint(p.base_delay_hours * f / step_hours).astype(np.int32)

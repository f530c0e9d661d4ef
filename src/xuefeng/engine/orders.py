"""Orders from outside the engine: a posture and an objective per unit (DESIGN.md §2, AI).

The scenario's plan and doctrine (ai.py) give every unit a posture and a route each step. An
order replaces the plan's part for the units it names: its posture (POSTURE_NAMES) and its
objective (a named place of the map: `Compiled.place_ids`). Units keep their last order until
another one, or `CLEAR` (back to the plan), is given. Doctrine still acts on ordered units as on
planned ones: halts and resumptions, the call-off of an offensive, breakpoints and rallying.
With no order given a campaign is exactly the scenario's (`tests/test_env.py`).

Orders are arrays over (replication, unit) with -1 for "keep the last order" and `CLEAR`
for "follow the plan again".
"""

from __future__ import annotations

import numpy as np

from xuefeng.engine.compile import POSTURE_NAMES

#: "keep the last order" and "follow the plan again", in either array of an order.
KEEP, CLEAR = -1, -2


def check_orders(c, posture: np.ndarray | None, objective: np.ndarray | None, R: int) -> None:
    """Refuse orders outside their ranges (a clear ValueError naming the array)."""
    for name, a, n in (("posture", posture, len(POSTURE_NAMES)), ("objective", objective, len(c.place_ids))):
        if a is None:
            continue
        a = np.asarray(a)
        if a.shape != (R, c.n_units):
            raise ValueError(f"orders: {name} must have shape ({R}, {c.n_units}) (replications, units), got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"orders: {name} must hold integers, got {a.dtype}")
        if a.size and (a.min() < CLEAR or a.max() >= n):
            raise ValueError(f"orders: {name} values must be {CLEAR} (clear), {KEEP} (keep) or 0..{n - 1}")


def apply_orders(c, s, posture: np.ndarray | None, objective: np.ndarray | None) -> None:
    """Write orders into the state (in place): posture codes, and objectives as place indices
    turned into the place's movement field."""
    if posture is not None:
        p = np.asarray(posture, np.int64)
        s.order_posture = np.where(p == CLEAR, -1, np.where(p >= 0, p, s.order_posture))
    if objective is not None:
        o = np.asarray(objective, np.int64)
        fld = c.place_field[np.maximum(o, 0)] if len(c.place_field) else np.full(o.shape, -1)
        s.order_field = np.where(o == CLEAR, -1, np.where(o >= 0, fld, s.order_field))

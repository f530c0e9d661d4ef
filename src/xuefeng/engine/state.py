"""Simulation state: struct of NumPy arrays with a leading replication axis.

Shapes: R replications, U units, S sides, P phases, D depots, G air groups.
Ledger columns follow `xuefeng.results.model.CATEGORIES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xuefeng.engine.kernels import men_of, row_matmul
from xuefeng.results.model import CATEGORIES

LEDGER = {c: i for i, c in enumerate(CATEGORIES)}


def mm(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(R,U) x (U,S) -> (R,S) without BLAS: each row's sums run over u in order whatever the
    batch size, so replication i stays bit-identical between batch sizes."""
    x = np.asarray(x)
    return row_matmul(x if x.dtype == np.bool_ else np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64))


@dataclass
class State:
    t: int  # step index
    cell: np.ndarray  # (R,U) int64
    arms: np.ndarray  # (R,U,4) men by arm (infantry, artillery, armor, support)
    present: np.ndarray  # (R,U) bool: on the map
    delivered: np.ndarray  # (R,U) men delivered so far for air arrivals (others: full)
    arrived_step: np.ndarray  # (R,U) int step of arrival (-1 not yet)
    posture: np.ndarray  # (R,U) int index into POSTURE_NAMES
    field: np.ndarray  # (R,U) int field index the unit moves toward (-1 none)
    chase: np.ndarray  # (R,U) int cell of an enemy the unit marches on to envelop it (-1 none)
    detour_around: np.ndarray  # (R,U) int enemy-held cell a bypassing unit is going round (movement.py)
    detour_to: np.ndarray  # (R,U) int the cell beyond it on the unit's way, where the detour ends (-1 none)
    phase: np.ndarray  # (R,U) int current phase (-1 none)
    wp: np.ndarray  # (R,U) waypoint index within its phase
    supply: np.ndarray  # (R,U) stock, fraction of the basic load 0..1 (supply.py)
    fed: np.ndarray  # (R,U) share of its need the unit lived on last step 0..1 (supply.py)
    fuel: np.ndarray  # (R,U) fuel load, fraction of a full one (fuel.py)
    fuel_ok: np.ndarray  # (R,U) share of its fuel need the unit's vehicles had last step 0..1 (fuel.py)
    flow: np.ndarray  # (R,U) deliveries over need last step: above 1 the stock is being rebuilt (supply.py)
    morale: np.ndarray  # (R,U) 0..1
    fatigue: np.ndarray  # (R,U) 0..1
    momentum: np.ndarray  # (R,U) -1..1
    mp: np.ndarray  # (R,U) movement hours banked
    eng_hours: np.ndarray  # (R,U) hours the battle at this defender has run (0 none; combat.py)
    eng_idle: np.ndarray  # (R,U) hours since this defender was last engaged (combat.py battle_gap_hours)
    surprised: np.ndarray  # (R,U) bool: fighting its first battle caught by surprise (combat.opening_surprise)
    side_hit_hours: np.ndarray  # (R,S) hours since the side's first unit was attacked (-1: not yet)
    steps_in_cell: np.ndarray  # (R,U)
    halted: np.ndarray  # (R,U) bool
    broken: np.ndarray  # (R,U) bool
    wounded_pool: np.ndarray  # (R,U)
    sick_pool: np.ndarray  # (R,U)
    ledger: np.ndarray  # (R,U,K)
    phase_issued: np.ndarray  # (R,P) step issued (-1 not yet)
    phase_effective: np.ndarray  # (R,P) step effective (big = not yet)
    side_attacked: np.ndarray  # (R,S) bool: the side has had units attacking
    side_retreat: np.ndarray  # (R,S) bool: offensive called off
    fights_won: np.ndarray  # (R,S) the side's recently decided engagements won, fading (ai.record_fights)
    fights_lost: np.ndarray  # (R,S) and lost
    rain: np.ndarray  # (R,) bool today's weather: rain (mud, low cloud)
    overcast: np.ndarray  # (R,) bool today's weather: low cloud without rain (aircraft grounded)
    depot_stock: np.ndarray  # (R,D)
    depot_fuel: np.ndarray  # (R,D) fuel held, tons (fuel.py)
    bridge_blown: np.ndarray  # (R,B) bool: the bridge is down (bridges.py)
    bridge_tried: np.ndarray  # (R,B) bool: the guard has had its one chance to blow it
    bridge_work: np.ndarray  # (R,B) engineer hours worked on rebuilding it
    aircraft: np.ndarray  # (R,G)
    aircrew_lost: np.ndarray  # (R,S)
    civilians: np.ndarray  # (R,)
    objective_taken: np.ndarray  # (R,) bool
    threat_hours: np.ndarray  # (R,) hours an attacker has stood within the objective's threat radius, running
    taken_step: np.ndarray  # (R,) int (-1)
    done: np.ndarray  # (R,) bool
    end_step: np.ndarray  # (R,) int
    max_adv: np.ndarray  # (R,) km
    advanced: np.ndarray  # (R,) bool: the attacker got beyond its start line
    off_end_step: np.ndarray  # (R,) int (-1)
    objectives_lost: np.ndarray  # (R,K) bool: the scenario's further objectives lost
    objectives_relieved: np.ndarray  # (R,K) bool: lost, then held again by their holder (retaken or relieved)
    objective_threat: np.ndarray  # (R,K) hours an enemy has dominated each objective's threat radius, running
    daily_men: np.ndarray  # (R,days,S) men on the map at each day's start, by side
    daily_casualties: np.ndarray  # (R,days,S) battle casualties (killed, wounded, missing, captured) each day
    calloff_step: np.ndarray  # (R,) int: step the attacker's offensive was called off (-1 never)
    connected: np.ndarray  # (R,U) bool: a stocked depot reaches the unit over ground its side controls
    order_posture: np.ndarray  # (R,U) int: posture ordered from outside the engine (orders.py), -1 none
    order_field: np.ndarray  # (R,U) int: field (objective) ordered from outside, -1 none

    def men(self) -> np.ndarray:
        """(R,U) men of each unit, all arms: the columns added in order, which gives the same bits
        as `.sum(-1)` (numpy's reduction over a last axis of length 4 is slow; the kernel,
        kernels.men_of, is a quarter of the written-out sum's time)."""
        a = self.arms
        if a.ndim == 3 and a.shape[2] == 4 and a.dtype == np.float64:
            return men_of(a)
        return ((a[..., 0] + a[..., 1]) + a[..., 2]) + a[..., 3]


def initial_state(c, R: int) -> State:
    U, S, P = c.n_units, c.n_sides, c.n_phases
    at_start = c.arrival_step == 0
    present = np.broadcast_to(at_start, (R, U)).copy()
    frac = np.where(at_start, 1.0, 0.0)
    arms = np.broadcast_to(c.arms0 * frac[:, None], (R, U, 4)).copy()
    delivered = np.broadcast_to(np.where(at_start, c.men0, 0.0), (R, U)).copy()
    return State(
        t=0,
        cell=np.broadcast_to(c.start_cell, (R, U)).copy(),
        arms=arms, present=present, delivered=delivered,
        arrived_step=np.where(present, 0, -1),
        posture=np.full((R, U), 1, np.int64), field=np.full((R, U), -1, np.int64),
        chase=np.full((R, U), -1, np.int64),
        detour_around=np.full((R, U), -1, np.int64), detour_to=np.full((R, U), -1, np.int64),
        phase=np.full((R, U), -1, np.int64), wp=np.zeros((R, U), np.int64),
        supply=np.full((R, U), c.params.supply.start_supply), fed=np.ones((R, U)), flow=np.ones((R, U)),
        fuel=np.full((R, U), c.params.fuel.start_fuel), fuel_ok=np.ones((R, U)), morale=np.ones((R, U)),
        fatigue=np.zeros((R, U)), momentum=np.zeros((R, U)), mp=np.zeros((R, U)),
        eng_hours=np.zeros((R, U)), eng_idle=np.full((R, U), np.inf),
        surprised=np.zeros((R, U), bool), side_hit_hours=np.full((R, S), -1.0),
        steps_in_cell=np.full((R, U), 100, np.int64),
        halted=np.zeros((R, U), bool), broken=np.zeros((R, U), bool),
        wounded_pool=np.zeros((R, U)), sick_pool=np.zeros((R, U)),
        ledger=np.zeros((R, U, len(LEDGER))),
        phase_issued=np.full((R, P), -1, np.int64), phase_effective=np.full((R, P), 10 ** 9, np.int64),
        side_attacked=np.zeros((R, S), bool), side_retreat=np.zeros((R, S), bool),
        fights_won=np.zeros((R, S)), fights_lost=np.zeros((R, S)),
        rain=np.zeros(R, bool),
        overcast=np.zeros(R, bool),
        depot_stock=np.broadcast_to(c.depot_stock0, (R, c.n_depots)).copy(),
        depot_fuel=np.broadcast_to(c.depot_fuel0, (R, c.n_depots)).copy(),
        bridge_blown=np.broadcast_to(c.bridge_blown0, (R, c.n_bridges)).copy(),
        bridge_tried=np.zeros((R, c.n_bridges), bool), bridge_work=np.zeros((R, c.n_bridges)),
        aircraft=np.broadcast_to(c.group_aircraft, (R, c.n_groups)).copy(),
        aircrew_lost=np.zeros((R, S)), civilians=np.zeros(R),
        objective_taken=np.zeros(R, bool), threat_hours=np.zeros(R), taken_step=np.full(R, -1, np.int64),
        done=np.zeros(R, bool), end_step=np.full(R, c.n_steps, np.int64),
        max_adv=np.full(R, -np.inf), advanced=np.zeros(R, bool), off_end_step=np.full(R, -1, np.int64),
        objectives_lost=np.zeros((R, len(c.objective_ids)), bool),
        objectives_relieved=np.zeros((R, len(c.objective_ids)), bool),
        objective_threat=np.zeros((R, len(c.objective_ids))), calloff_step=np.full(R, -1, np.int64),
        daily_men=np.zeros((R, c.n_steps * c.step_hours // 24 + 1, S)),
        daily_casualties=np.zeros((R, c.n_steps * c.step_hours // 24 + 1, S)),
        connected=np.ones((R, U), bool),
        order_posture=np.full((R, U), -1, np.int64), order_field=np.full((R, U), -1, np.int64),
    )

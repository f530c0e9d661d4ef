"""Compiled kernels for the engine's per-unit and unit-pair loops (Numba), grouped by the
phase of a step that calls them.

Contact, local power, envelopment and the sharing of an engagement among its
attackers compare every unit with every other in each replication: as NumPy
masks that is several (R,U,U) temporaries per step, which dominated the run
time. Here each kernel loops over replications and unit pairs once, touching
only live units, with no temporaries; the doctrine, marching, loss booking and
depot choice are per-unit rules written the same way. The rules themselves are
documented in the phase modules (ai, movement, combat, supply) that call these.

Every kernel works on one replication's row at a time and never mixes rows,
so replication i's result does not depend on the batch it runs in. Sums run
over units in index order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from xuefeng.engine.postures import ATTACK, HASTY, WITHDRAWAL


# ------------------------------------------------------------------ unit pairs and sums


@njit(cache=True, nogil=True)
def _adjacent(nbr_self: np.ndarray, a: int, b: int) -> bool:
    """Cells a and b are the same or neighbours."""
    for k in range(nbr_self.shape[1]):
        if nbr_self[a, k] == b:
            return True
    return False


@njit(cache=True, nogil=True)
def _touch(adj, nbr_self, a: int, b: int) -> bool:
    """Cells a and b are the same or neighbours: a lookup in the dense (C,C) table when the
    compiled map has one (four times faster), else the neighbour list."""
    if adj.shape[0] > 0:
        return adj[a, b]
    return _adjacent(nbr_self, a, b)


def adjacency_args(c) -> tuple[np.ndarray, np.ndarray]:
    """(adj, nbr_self) for the kernels: adj is empty where the map is too large for the table."""
    adj = c.adj if c.adj is not None else np.zeros((0, 0), np.bool_)
    return adj, c.nbr_self


@njit(cache=True, nogil=True)
def row_matmul(x, m):
    """(R,U) @ (U,S), each sum running over u in index order (the same bits as numpy's einsum
    here, a quarter of its time on these small shapes). x may be boolean (1.0 and 0.0). Worked
    on x transposed, replications innermost: their sums are independent, so they run side by
    side (and in vector registers) instead of each waiting on its previous addition."""
    R, U = x.shape
    S = m.shape[1]
    xt = x.T.copy()
    out = np.zeros((S, R))
    for k in range(S):
        for u in range(U):
            w = m[u, k]
            for r in range(R):
                out[k, r] += xt[u, r] * w
    return out.T.copy()


# ------------------------------------------------------------------ 1. orders (ai.py)


@njit(cache=True, nogil=True)
def local_power(adj, nbr_self, cell, alive, men, withdrawing, enemy):
    """Per unit: own and friendly men in and next to its cell, enemy men in contact, whether it
    touches an enemy, and whether it touches a withdrawing enemy; each (R,U). Each pair is
    looked at once (touching is symmetric, as is being enemies); a unit's sums still take its
    partners in index order (those before it as the outer loop reaches it, itself, then those
    after), the order of a loop over every partner."""
    R, U = cell.shape
    own = np.zeros((R, U))
    opp = np.zeros((R, U))
    touching = np.zeros((R, U), np.bool_)
    touch_wd = np.zeros((R, U), np.bool_)
    for r in range(R):
        for a in range(U):
            if not alive[r, a]:
                continue
            own[r, a] += men[r, a]  # itself (same cell; a unit is not its own enemy)
            ca = cell[r, a]
            for b in range(a + 1, U):
                if not alive[r, b] or not _touch(adj, nbr_self, ca, cell[r, b]):
                    continue
                if enemy[a, b]:
                    opp[r, a] += men[r, b]
                    opp[r, b] += men[r, a]
                    touching[r, a] = True
                    touching[r, b] = True
                    if withdrawing[r, b]:
                        touch_wd[r, a] = True
                    if withdrawing[r, a]:
                        touch_wd[r, b] = True
                else:
                    own[r, a] += men[r, b]
                    own[r, b] += men[r, a]
    return own, opp, touching, touch_wd


@njit(cache=True, nogil=True)
def latest_phase(score, phase_units):
    """Phase each unit follows, (R,U): of the effective phases naming it, the one with the
    highest score (score = effective step * P + phase; -1 not effective), or -1."""
    R, P = score.shape
    U = phase_units.shape[1]
    out = np.full((R, U), -1, np.int64)
    # the phases naming each unit, in index order (most units are named by few of the phases)
    n_of = np.zeros(U, np.int64)
    of = np.empty((U, P), np.int64)
    for u in range(U):
        for k in range(P):
            if phase_units[k, u]:
                of[u, n_of[u]] = k
                n_of[u] += 1
    for r in range(R):
        for u in range(U):
            best = -1
            for j in range(n_of[u]):
                v = score[r, of[u, j]]
                if v > best:
                    best = v
            if best >= 0:
                out[r, u] = best % P
    return out


@njit(cache=True, nogil=True)
def advance_waypoints(wp, cell, phase, mode, ctg, phase_wp, phase_nwp, phase_wp_cell):
    """Waypoint index of each unit after skipping those it has reached, or whose successor is
    nearer (by its cost-to-go) than they are: a unit joins its axis at the nearest point ahead."""
    R, U = cell.shape
    W = phase_wp.shape[1]
    out = wp.copy()
    for r in range(R):
        for u in range(U):
            k = phase[r, u]
            if k < 0:
                continue
            w = out[r, u]
            for _ in range(W):
                if w >= phase_nwp[k] - 1:
                    break
                nxt = min(w + 1, W - 1)
                here = cell[r, u]
                if here == phase_wp_cell[k, w] or ctg[mode[u], phase_wp[k, nxt], here] <= ctg[mode[u], phase_wp[k, w], here]:
                    w += 1
                else:
                    break
            out[r, u] = w
    return out


@njit(cache=True, nogil=True)
def men_near_objectives(near_cell, cell, men_alive, phase_units, phase_side, side):
    """Men of the phase's enemies and of the phase side's other units near each phase's
    objective, each (R,P); near_cell (C,P) marks the cells within the radius of each."""
    R, U = cell.shape
    C, P = near_cell.shape
    emen = np.zeros((R, P))
    omen = np.zeros((R, P))
    # the phases each cell is near, in index order, listed when a unit first stands there
    n_near = np.full(C, -1, np.int64)
    near_of = np.empty((C, P), np.int64)
    for r in range(R):
        for u in range(U):
            w = men_alive[r, u]
            if w == 0.0:
                continue
            c = cell[r, u]
            if n_near[c] < 0:
                n_near[c] = 0
                for k in range(P):
                    if near_cell[c, k]:
                        near_of[c, n_near[c]] = k
                        n_near[c] += 1
            for j in range(n_near[c]):
                k = near_of[c, j]
                if side[u] != phase_side[k]:
                    emen[r, k] += w
                elif not phase_units[k, u]:
                    omen[r, k] += w
    return emen, omen


@njit(cache=True, nogil=True)
def _near_any(x_cell, y_cell, r, e, ax, ay, n, radius):
    """Whether unit e (replication r) stands within `radius` km of one of the n points (ax, ay)."""
    for j in range(n):
        dx = ax[j] - x_cell[r, e]
        dy = ay[j] - y_cell[r, e]
        if abs(dx) <= radius and abs(dy) <= radius and dx * dx + dy * dy <= radius * radius:
            return True
    return False


@njit(cache=True, nogil=True)
def men_facing(x_cell, y_cell, alive, attacking, men, side, n_sides, radius):
    """Per replication and side (R,S): the live men the side has gathered for its offensive -
    its attack-phase units and its other units within `radius` km of any of them (reserves and
    follow-on echelons that can join within a day) - and the live enemy men within `radius` km
    of any of its attack-phase units (the forces that can meet it). Both sides are counted the
    same way, whatever their units' phases, so an offensive whose first wave alone is engaged
    is not judged outnumbered by every enemy near it. (The side's live attackers' positions are
    listed first, so each unit is compared with those alone.)"""
    R, U = x_cell.shape
    own = np.zeros((R, n_sides))
    opp = np.zeros((R, n_sides))
    ax = np.empty(U)
    ay = np.empty(U)
    for r in range(R):
        for u in range(U):
            if alive[r, u] and attacking[r, u]:
                own[r, side[u]] += men[r, u]
        for k in range(n_sides):
            if own[r, k] == 0.0:
                continue
            n = 0
            for u in range(U):
                if alive[r, u] and attacking[r, u] and side[u] == k:
                    ax[n] = x_cell[r, u]
                    ay[n] = y_cell[r, u]
                    n += 1
            for e in range(U):
                if not alive[r, e] or (side[e] == k and attacking[r, e]):
                    continue
                if _near_any(x_cell, y_cell, r, e, ax, ay, n, radius):
                    if side[e] == k:  # a friend not in the attack, within reach of its attackers
                        own[r, k] += men[r, e]
                    else:
                        opp[r, k] += men[r, e]
    return own, opp


@njit(cache=True, nogil=True)
def doctrine_halt(own, opp, touching, touch_wd, base, alive, present, supply, fed, flow, morale, halted, broken, men,
                  men0, side, n_sides, side_attacked, side_retreat, front_ratio, stalled, victory_holder, halt_ratio,
                  halt_supply, resume_ratio, resume_supply, culmination_fraction, retreat_supply, retreat_strength,
                  retreat_morale, retreat_ratio, counter_ratio, counter_supply, pursue_ratio):
    """Doctrine before envelopment (ai.py): halts and resumptions, each side's offensive
    culmination and its calling off (from the attackers' state: broken share, supply they live
    on, strength, morale, and their men against the enemy's that can meet them, front_ratio
    (R,S)) once it has stalled (stalled (R,S): no ground gained, ai.offensive_stalled), the
    fall-back of a called-off offensive, counterattack and pursuit.
    The doctrine parameters (halt_ratio ... pursue_ratio) are arrays over the sides (ai.HALT_DOCTRINE).
    Updates halted and side_retreat in place; returns the posture so far, the units free to
    envelop, and per side (R,S) whether the offensive was called off now, the attackers' mean
    supply level (fed), their share of full strength, their mean morale and broken share."""
    R, U = base.shape
    post = base.copy()
    free = np.zeros((R, U), np.bool_)
    call_off = np.zeros((R, n_sides), np.bool_)
    sup = np.zeros((R, n_sides))
    strength = np.zeros((R, n_sides))
    mor = np.zeros((R, n_sides))
    stuck = np.zeros((R, n_sides))
    n_is = np.zeros(n_sides)
    n_stuck = np.zeros(n_sides)
    n_sup = np.zeros(n_sides)
    men_is = np.zeros(n_sides)
    full_is = np.zeros(n_sides)
    for r in range(R):
        n_is[:] = 0.0
        n_stuck[:] = 0.0
        n_sup[:] = 0.0
        men_is[:] = 0.0
        full_is[:] = 0.0
        for u in range(U):
            ratio = own[r, u] / max(opp[r, u], 1.0)
            is_att = base[r, u] == ATTACK
            k = side[u]
            # a unit short of stock halts to rebuild it only where what arrives exceeds its need
            # (waiting helps); otherwise it presses on with what it has until it starves
            rebuilds = flow[r, u] > 1.0
            halt_now = is_att and alive[r, u] and ((touching[r, u] and ratio < halt_ratio[k])
                                                   or (supply[r, u] < halt_supply[k] and rebuilds))
            resume = ((not touching[r, u]) or ratio >= resume_ratio[k]) and (
                supply[r, u] >= resume_supply[k] or not rebuilds)
            h = True if halt_now else (False if resume else halted[r, u])
            halted[r, u] = h and is_att
            if is_att:
                if present[r, u]:
                    n_is[k] += 1.0
                    men_is[k] += men[r, u]
                    full_is[k] += men0[u]
                    # spent: broken or out of action
                    if broken[r, u] or not alive[r, u]:
                        n_stuck[k] += 1.0
                if alive[r, u]:
                    sup[r, k] += fed[r, u]
                    mor[r, k] += morale[r, u]
                    n_sup[k] += 1.0
        for k in range(n_sides):
            sup[r, k] = sup[r, k] / max(n_sup[k], 1.0)
            mor[r, k] = mor[r, k] / max(n_sup[k], 1.0) if n_sup[k] > 0 else 0.0
            strength[r, k] = men_is[k] / max(full_is[k], 1.0)
            stuck[r, k] = n_stuck[k] / max(n_is[k], 1.0)
            call_off[r, k] = side_attacked[r, k] and n_is[k] > 0 and not side_retreat[r, k] and stalled[r, k] and (
                stuck[r, k] >= culmination_fraction[k] or sup[r, k] < retreat_supply[k]
                or strength[r, k] < retreat_strength[k] or mor[r, k] < retreat_morale[k]
                or front_ratio[r, k] < retreat_ratio[k])
            if call_off[r, k]:
                side_retreat[r, k] = True
        for u in range(U):
            ratio = own[r, u] / max(opp[r, u], 1.0)
            p_ = post[r, u]
            # a called-off offensive falls back to its start positions; the side holding the
            # victory objective (a counteroffensive) stops and holds where it stands
            if p_ == ATTACK and side_retreat[r, side[u]]:
                p_ = HASTY if side[u] == victory_holder else WITHDRAWAL
            if p_ == ATTACK and halted[r, u]:
                p_ = HASTY
            defensive = p_ != ATTACK and p_ != WITHDRAWAL
            k = side[u]
            counter = defensive and touching[r, u] and ratio >= counter_ratio[k] and supply[r, u] >= counter_supply[k]
            pursue = defensive and touch_wd[r, u] and ratio >= pursue_ratio[k]
            if (counter or pursue) and not broken[r, u]:
                p_ = ATTACK
            post[r, u] = p_
            free[r, u] = defensive and not touching[r, u] and not broken[r, u] and alive[r, u] \
                and supply[r, u] >= counter_supply[k]
    return post, free, call_off, sup, strength, mor, stuck


#: Relative margin of _within's test on squared distances, far above their rounding (~1e-15)
WITHIN_MARGIN = 1e-9


@njit(cache=True, nogil=True)
def _within(dx, dy, radius):
    """np.hypot(dx, dy) <= radius, with hypot computed only where the squared distance is
    within WITHIN_MARGIN of the radius's square (elsewhere it cannot decide otherwise)."""
    d2 = dx * dx + dy * dy
    r2 = radius * radius
    if d2 > r2 * (1.0 + WITHIN_MARGIN):
        return False
    if d2 < r2 * (1.0 - WITHIN_MARGIN):
        return True
    return np.hypot(dx, dy) <= radius


@njit(cache=True, nogil=True)
def envelop_targets(x_cell, y_cell, cell, alive, touching, free, men, enemy, radius, ratio):
    """Cell each free unit marches on to envelop an enemy (-1 none), (R,U).

    An enemy e qualifies when it is alive and in contact, and the live men of e's enemies
    within `radius` km outnumber it by `ratio`; a free unit picks the nearest qualifying enemy
    within `radius` (ties: the lowest unit index)."""
    R, U = cell.shape
    chase = np.full((R, U), -1, np.int64)
    live = np.empty(U, np.int64)  # the live units, then the qualifying enemies, in index order
    qual = np.empty(U, np.int64)
    for r in range(R):
        any_free = False
        for u in range(U):
            if free[r, u] and alive[r, u]:
                any_free = True
                break
        if not any_free:
            continue
        n_live = 0
        for v in range(U):
            if alive[r, v]:
                live[n_live] = v
                n_live += 1
        n_qual = 0
        for e in range(U):
            if not (alive[r, e] and touching[r, e]):
                continue
            against = 0.0
            for j in range(n_live):
                v = live[j]
                if enemy[v, e]:
                    dx = x_cell[r, v] - x_cell[r, e]
                    dy = y_cell[r, v] - y_cell[r, e]
                    if abs(dx) <= radius and abs(dy) <= radius and _within(dx, dy, radius):
                        against += men[r, v]
            if against >= ratio * max(men[r, e], 1.0):
                qual[n_qual] = e
                n_qual += 1
        if n_qual == 0:
            continue
        for u in range(U):
            if not (free[r, u] and alive[r, u]):
                continue
            best = np.inf
            for j in range(n_qual):
                e = qual[j]
                if not enemy[u, e]:
                    continue
                dx = x_cell[r, u] - x_cell[r, e]
                dy = y_cell[r, u] - y_cell[r, e]
                if abs(dx) <= radius and abs(dy) <= radius and _within(dx, dy, radius):
                    d = np.hypot(dx, dy)
                    if d < best:
                        best = d
                        chase[r, u] = cell[r, e]
    return chase


@njit(cache=True, nogil=True)
def doctrine_final(post, chase, fld, cell, start_cell, home_field, alive, touching, broken, morale, men, delivered,
                   in_att_phase, side, side_attacked, posture, recover_morale, rally_strength):
    """Doctrine after envelopment (ai.py): broken units withdraw, withdrawals head home (and
    hold once there), broken units out of contact rally, attackers with no route strike from
    home's field. Writes posture, field, chase, broken and side_attacked in place."""
    R, U = post.shape
    for r in range(R):
        for u in range(U):
            p_ = post[r, u]
            if chase[r, u] >= 0:
                p_ = ATTACK
            if broken[r, u]:
                p_ = WITHDRAWAL
            ch = chase[r, u] if p_ == ATTACK else -1
            f = home_field[u] if p_ == WITHDRAWAL else fld[r, u]
            if p_ == WITHDRAWAL and cell[r, u] == start_cell[u]:
                p_ = HASTY
            rally = broken[r, u] and not touching[r, u] and morale[r, u] >= recover_morale \
                and men[r, u] >= rally_strength * max(delivered[r, u], 1.0)
            if rally:
                broken[r, u] = False
            if f < 0 and p_ == ATTACK:
                f = home_field[u]
            if alive[r, u]:
                posture[r, u] = p_
            fld[r, u] = f
            chase[r, u] = ch
            if posture[r, u] == ATTACK and alive[r, u] and in_att_phase[r, u]:
                side_attacked[r, side[u]] = True


# ------------------------------------------------------------------ 2. movement (movement.py)


@njit(cache=True, nogil=True)
def _fill_zones(zone, nbr_self, cell_r, alive_r, side):
    """Mark (in `zone`, (S,C) counts) the zone of control of each live unit of one replication:
    its cell and the neighbours."""
    for u in range(cell_r.shape[0]):
        if alive_r[u]:
            for k in range(nbr_self.shape[1]):
                c = nbr_self[cell_r[u], k]
                if c >= 0:
                    zone[side[u], c] += 1


@njit(cache=True, nogil=True)
def _clear_zones(zone, nbr_self, cell_r, alive_r, side):
    for u in range(cell_r.shape[0]):
        if alive_r[u]:
            for k in range(nbr_self.shape[1]):
                c = nbr_self[cell_r[u], k]
                if c >= 0:
                    zone[side[u], c] = 0


@njit(cache=True, nogil=True)
def _in_enemy_zone(zone, c, own_side):
    for s in range(zone.shape[0]):
        if s != own_side and zone[s, c] > 0:
            return True
    return False


@njit(cache=True, nogil=True)
def in_enemy_zone(nbr_self, cell, alive, side, n_sides, n_cells):
    """(R,U) the unit's cell lies in another side's zone of control (a live enemy unit is in it
    or next to it)."""
    R, U = cell.shape
    out = np.zeros((R, U), np.bool_)
    zone = np.zeros((n_sides, n_cells), np.int32)
    for r in range(R):
        _fill_zones(zone, nbr_self, cell[r], alive[r], side)
        for u in range(U):
            out[r, u] = _in_enemy_zone(zone, cell[r, u], side[u])
        _clear_zones(zone, nbr_self, cell[r], alive[r], side)
    return out


@njit(cache=True, nogil=True)
def _enemy_holds(occ, c, own_side):
    for s in range(occ.shape[0]):
        if s != own_side and occ[s, c] > 0:
            return True
    return False


@njit(cache=True, nogil=True)
def _hop_cost(eh, bridge_at, bridge_blown_r, bridge_down_hours, w, m, c, k):
    """Hours of the hop from cell c through its neighbour slot k: the edge's, or, where its
    bridge is down, bridge_down_hours."""
    cost = eh[w, m, c, k]
    b = bridge_at[c, k]
    if b >= 0 and bridge_blown_r[b]:
        cost = bridge_down_hours[w, m, b]
    return cost


@njit(cache=True, nogil=True)
def _ring_step(nbr, eh, occ, c, x, y, own_side, w, m, bridge_at, bridge_blown_r, bridge_down_hours):
    """The neighbour slot of cell c that begins the quickest way from c to y over the cells
    round x (x's neighbours, c and y among them) that no enemy holds; -1 if there is none or c
    is not beside x. A bypassing unit goes round the enemy-held cell x to y, the cell after x
    on its way, instead of stepping aside where its field would lead it back."""
    K = nbr.shape[1]
    ring = nbr[x]
    start, goal = -1, -1
    for i in range(K):
        if ring[i] == c:
            start = i
        if ring[i] == y:
            goal = i
    if start < 0 or goal < 0:
        return -1
    dist = np.full(K, np.inf)
    first = np.full(K, -1)
    done = np.zeros(K, np.bool_)
    dist[start] = 0.0
    for _ in range(K):
        a = -1
        for i in range(K):
            if not done[i] and np.isfinite(dist[i]) and (a < 0 or dist[i] < dist[a]):
                a = i
        if a < 0 or a == goal:
            break
        done[a] = True
        ca = ring[a]
        for j in range(K):
            n = nbr[ca, j]
            if n == ca or n == x:
                continue
            for i in range(K):
                if ring[i] == n and not done[i] and ring[i] != x and not _enemy_holds(occ, n, own_side):
                    cost = _hop_cost(eh, bridge_at, bridge_blown_r, bridge_down_hours, w, m, ca, j)
                    if np.isfinite(cost) and dist[a] + cost < dist[i]:
                        dist[i] = dist[a] + cost
                        first[i] = j if a == start else first[a]
    return first[goal] if np.isfinite(dist[goal]) else -1


@njit(cache=True, nogil=True)
def bypassers(target, men, motor, ratio):
    """(R,U) the attackers that leave their engagement to march on (ai.bypassing): target (R,U)
    each attacker's primary target (-1: none), men (R,U), motor (U,) whether a unit marches by
    motor, ratio (U,) its side's bypass_ratio. In unit order, a motorised attacker goes when the
    attackers staying on its target, without it, still have ratio times the target's men."""
    R, U = target.shape
    out = np.zeros((R, U), np.bool_)
    held = np.zeros(U)
    for r in range(R):
        held[:] = 0.0
        for a in range(U):
            if target[r, a] >= 0:
                held[target[r, a]] += men[r, a]
        for a in range(U):
            d = target[r, a]
            if d >= 0 and motor[a] and ratio[a] > 0 and held[d] - men[r, a] >= ratio[a] * men[r, d]:
                out[r, a] = True
                held[d] -= men[r, a]
    return out


@njit(cache=True, nogil=True)
def march(nbr, nbr_self, next_k, eh, ekm, mode, side, n_sides, field, cell, mp, moving, ignore_zoc, alive, rain,
          max_hops, bridge_at, bridge_blown, bridge_down_hours, bypass, detour_around, detour_to):
    """One step of movement along cost-to-go fields for every unit of every replication (see
    movement.py); the km moved are summed over the hops as ekm (C,6) counts each edge (the
    engine passes fuel.py's road-equivalent km). The zones of control are those of the live
    units where they stood when the step's movement began. An edge whose bridge is down
    (bridge_at (C,6) >= 0, bridge_blown (R,B)) costs bridge_down_hours (2,M,B) instead. A
    bypassing unit (bypass (R,U)) ignores zones of control but enters no cell an enemy holds:
    where its field leads into one (x), it goes round x by the quickest way over x's free
    neighbours to the cell after x on its field (_ring_step), over as many steps as that takes
    (detour_around / detour_to (R,U): x and that cell, -1 none; kept while x is enemy-held and
    the unit beside it), or stops where there is no way round. Returns (cell, mp, hours moved,
    km moved, detour_around, detour_to)."""
    R, U = cell.shape
    cell_out = cell.copy()
    mp_out = mp.copy()
    moved = np.zeros((R, U))
    km = np.zeros((R, U))
    around = detour_around.copy()
    to = detour_to.copy()
    zone = np.zeros((n_sides, nbr.shape[0]), np.int32)
    occ = np.zeros((n_sides, nbr.shape[0]), np.int32)
    for r in range(R):
        _fill_zones(zone, nbr_self, cell[r], alive[r], side)
        for u in range(U):
            if alive[r, u]:
                occ[side[u], cell[r, u]] += 1
        w = 1 if rain[r] else 0
        for u in range(U):
            f = field[r, u]
            if not moving[r, u] or f < 0:
                continue
            c = cell[r, u]
            byp = bypass[r, u]
            ign = ignore_zoc[r, u] or byp
            # a unit that starts the step in an enemy ZOC does not march on (it fights instead)
            # and, like any unit that stops, banks no hours for a jump once contact breaks
            if not ign and _in_enemy_zone(zone, c, side[u]):
                mp_out[r, u] = 0.0
                continue
            m = mode[u]
            left = mp[r, u]
            hours = 0.0
            dist = 0.0
            for _ in range(max_hops):
                k = -1
                if byp and to[r, u] >= 0:  # going round an enemy-held cell
                    x = around[r, u]
                    if c == to[r, u] or not _enemy_holds(occ, x, side[u]):
                        to[r, u] = -1
                        around[r, u] = -1
                    else:
                        k = _ring_step(nbr, eh, occ, c, x, to[r, u], side[u], w, m, bridge_at, bridge_blown[r],
                                       bridge_down_hours)
                        if k < 0:
                            to[r, u] = -1
                            around[r, u] = -1
                            break
                if k < 0:
                    k = next_k[m, f, c]
                    if k < 0:
                        break
                    x = nbr[c, k]
                    if byp and _enemy_holds(occ, x, side[u]):
                        kx = next_k[m, f, x]
                        y = nbr[x, kx] if kx >= 0 else x
                        if y == x or y == c or _enemy_holds(occ, y, side[u]):
                            break  # the enemy holds the goal, or the cell after it too
                        k = _ring_step(nbr, eh, occ, c, x, y, side[u], w, m, bridge_at, bridge_blown[r],
                                       bridge_down_hours)
                        if k < 0:
                            break
                        around[r, u] = x
                        to[r, u] = y
                cost = _hop_cost(eh, bridge_at, bridge_blown[r], bridge_down_hours, w, m, c, k)
                if left < cost:
                    break
                dist = dist + ekm[c, k]
                c = nbr[c, k]
                left = left - cost
                hours = hours + cost
                if c == to[r, u]:
                    to[r, u] = -1
                    around[r, u] = -1
                # entering an enemy ZOC ends the march for this step
                if not ign and _in_enemy_zone(zone, c, side[u]):
                    break
            cell_out[r, u] = c
            mp_out[r, u] = left
            moved[r, u] = hours
            km[r, u] = dist
        _clear_zones(zone, nbr_self, cell[r], alive[r], side)
        for u in range(U):
            occ[side[u], cell[r, u]] = 0
    return cell_out, mp_out, moved, km, around, to


@njit(cache=True, nogil=True)
def step_toward_cells(nbr, edge_ok, x, y, eh, ekm, mode, target, cell, mp, rain, max_hops, bridge_at, bridge_blown,
                      bridge_down_hours):
    """movement.step_toward_cells as a loop over the units with a target (target >= 0): greedy
    hops to the passable neighbour nearest the target (the first such), while it is nearer than
    the current cell and the banked hours pay for the hop (a bridge that is down costs
    bridge_down_hours, as in march). Returns (cell, mp, hours, km), km from ekm as in march."""
    R, U = cell.shape
    K = nbr.shape[1]
    cell_out = cell.copy()
    mp_out = mp.copy()
    moved = np.zeros((R, U))
    km = np.zeros((R, U))
    for r in range(R):
        w = 1 if rain[r] else 0
        for u in range(U):
            tg = target[r, u]
            if tg < 0:
                continue
            c = cell[r, u]
            left = mp[r, u]
            hours = 0.0
            dist = 0.0
            tx = x[tg]
            ty = y[tg]
            for _ in range(max_hops):
                best = np.inf
                k = 0
                for j in range(K):
                    d = np.hypot(x[nbr[c, j]] - tx, y[nbr[c, j]] - ty) if edge_ok[c, j] else np.inf
                    if d < best:
                        best = d
                        k = j
                here = np.hypot(x[c] - tx, y[c] - ty)
                cost = _hop_cost(eh, bridge_at, bridge_blown[r], bridge_down_hours, w, mode[u], c, k)
                if not (best < here - 1e-9 and left >= cost):
                    break
                dist = dist + ekm[c, k]
                c = nbr[c, k]
                left = left - cost
                hours = hours + cost
            cell_out[r, u] = c
            mp_out[r, u] = left
            moved[r, u] = hours
            km[r, u] = dist
    return cell_out, mp_out, moved, km


# ------------------------------------------------------------------ 4. combat (combat.py)


@njit(cache=True, nogil=True)
def contact_matrix(adj, nbr_self, cell, alive, enemy):
    """(R,U,U) opposing live units in the same or adjacent cells, and (R,U) whether each
    unit touches any. Each pair is looked at once (contact is symmetric)."""
    R, U = cell.shape
    out = np.zeros((R, U, U), np.bool_)
    touching = np.zeros((R, U), np.bool_)
    for r in range(R):
        for a in range(U):
            if not alive[r, a]:
                continue
            ca = cell[r, a]
            for b in range(a + 1, U):
                if alive[r, b] and enemy[a, b] and _touch(adj, nbr_self, ca, cell[r, b]):
                    out[r, a, b] = True
                    out[r, b, a] = True
                    touching[r, a] = True
                    touching[r, b] = True
    return out, touching


@njit(cache=True, nogil=True)
def attack_split(contact, attacking, men, eff):
    """How each attacker splits its men among the enemies it engages (in proportion to theirs;
    combat.py gives each its primary target alone, so all its men go there):
    share (R,a,d) and the effective attacking men at each defender, (R,d)."""
    R, U = attacking.shape
    share = np.zeros((R, U, U))
    att_men = np.zeros((R, U))
    for r in range(R):
        for a in range(U):
            if not attacking[r, a]:
                continue
            tot = 0.0
            for d in range(U):
                if contact[r, a, d]:
                    tot += men[r, d]
            tot = max(tot, 1e-9)
            for d in range(U):
                if contact[r, a, d]:
                    f = men[r, d] / tot
                    share[r, a, d] = f
                    att_men[r, d] += f * eff[r, a]
    return share, att_men


@njit(cache=True, nogil=True)
def attacker_means(rr, we, lq, side, n_sides):
    """For each engagement i (replication rr[i]): the attackers' log-quality vectors summed with
    weights we[i,a] (their effective men against this defender), (n,7), and the weight on
    each side, (n,S). Sums run over attackers in index order."""
    n, U = we.shape
    K = lq.shape[2]
    q = np.zeros((n, K))
    by_side = np.zeros((n, n_sides))
    for i in range(n):
        r = rr[i]
        for a in range(U):
            w = we[i, a]
            for k in range(K):
                q[i, k] += w * lq[r, a, k]
            by_side[i, side[a]] += w
    return q, by_side


@njit(cache=True, nogil=True)
def _block_sum(a, lo, n):
    """Sum of a[lo:lo+n], n <= 128, in NumPy's order: in turn under 8, else eight running sums
    joined pairwise and the rest added in turn."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, nogil=True)
def _pairwise_sum(a, lo, n):
    """Sum of a[lo:lo+n] in the order of NumPy's pairwise summation (the order of `.sum()` along
    a contiguous axis): blocks of up to 128 (_block_sum), longer runs split in halves (the first
    a multiple of 8) and the halves' sums added; the halving walked with a stack, not recursion."""
    if n <= 128:
        return _block_sum(a, lo, n)
    t_lo = np.empty(128, np.int64)
    t_n = np.empty(128, np.int64)
    t_join = np.empty(128, np.bool_)
    vals = np.empty(128)
    top = 0
    nv = 0
    t_lo[0], t_n[0], t_join[0] = lo, n, False
    top = 1
    while top > 0:
        top -= 1
        l, m, join = t_lo[top], t_n[top], t_join[top]
        if join:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        elif m <= 128:
            vals[nv] = _block_sum(a, l, m)
            nv += 1
        else:
            n2 = m // 2
            n2 -= n2 % 8
            t_lo[top], t_n[top], t_join[top] = l, m, True
            t_lo[top + 1], t_n[top + 1], t_join[top + 1] = l + n2, m - n2, False
            t_lo[top + 2], t_n[top + 2], t_join[top + 2] = l, n2, False
            top += 3
    return vals[0]


@njit(cache=True, nogil=True)
def _row_sum(a):
    """a.sum() of a contiguous row, NumPy's bits (its reduction starts from 0.0)."""
    return 0.0 + _pairwise_sum(a, 0, a.shape[0])


@njit(cache=True, nogil=True)
def _row_finite(r, guns, tanks, eff, momentum, morale, fed, cell, elev):
    """Every per-attacker input of replication r is finite (so an attacker with no share adds
    exact zeros to every sum of engagement_inputs, and can be left out)."""
    for a in range(guns.shape[1]):
        if not (np.isfinite(guns[r, a]) and np.isfinite(tanks[r, a]) and np.isfinite(eff[r, a])
                and np.isfinite(momentum[r, a]) and np.isfinite(morale[r, a]) and np.isfinite(fed[r, a])
                and np.isfinite(elev[cell[r, a]])):
            return False
    return True


@njit(cache=True, nogil=True)
def _few_sum(x, idx, n):
    """0.0 + the sum of x[idx[:n]], n <= 2: what NumPy's `.sum()` of a row holding only these
    nonzero terms gives (with at most two, the order of the additions cannot change the bits)."""
    if n == 0:
        return 0.0
    if n == 1:
        return 0.0 + x[idx[0]]
    return 0.0 + (x[idx[0]] + x[idx[1]])


@njit(cache=True, nogil=True)
def engagement_inputs(rr, dd, share, attacking, contact, eff, guns, tanks, momentum, morale, fed, cell, elev,
                      log_quality, side, n_sides):
    """combat.engagement_inputs_reference as one loop over the engagements (replication rr[i],
    defender dd[i]), with NumPy's order of every sum. Most engagements have one or two
    attackers: where the inputs are finite, the attackers with no share (whose terms are exact
    zeros) are left out of the sums, which then need no pairwise order."""
    n = rr.shape[0]
    R, U = attacking.shape
    K = log_quality.shape[1]
    att_guns = np.zeros(n)
    att_tanks = np.zeros(n)
    lq_sum = np.zeros((n, K))
    by_side = np.zeros((n, n_sides))
    mom_sum = np.zeros(n)
    morale_sum = np.zeros(n)
    fed_sum = np.zeros(n)
    envelop = np.zeros(n, np.bool_)
    elev_a = np.zeros(n)
    t1 = np.zeros(U)
    t2 = np.zeros(U)
    we = np.zeros(U)
    idx = np.zeros(U, np.int64)
    jdx = np.zeros(U, np.int64)
    lq_finite = True
    for a in range(U):
        for k in range(K):
            if not np.isfinite(log_quality[a, k]):
                lq_finite = False
    finite = np.full(R, -1, np.int8)  # per replication: -1 not yet known, else _row_finite
    for i in range(n):
        r = rr[i]
        d = dd[i]
        if finite[r] < 0:
            finite[r] = 1 if (lq_finite and _row_finite(r, guns, tanks, eff, momentum, morale, fed, cell, elev)) else 0
        na = 0  # attackers with a share of their men against d
        nb = 0  # attackers in contact with d (a share may be 0 where d has no men)
        for a in range(U):
            if share[r, a, d] != 0.0:
                idx[na] = a
                na += 1
            if attacking[r, a] and contact[r, a, d]:
                jdx[nb] = a
                nb += 1
        if finite[r] == 1 and na <= 2:
            for j in range(na):
                a = idx[j]
                w = share[r, a, d]
                t1[a] = w * guns[r, a]
                t2[a] = w * tanks[r, a]
                we[a] = w * eff[r, a]
            att_guns[i] = _few_sum(t1, idx, na)
            att_tanks[i] = _few_sum(t2, idx, na)
            for j in range(na):
                a = idx[j]
                w = we[a]
                for k in range(K):
                    lq_sum[i, k] += w * log_quality[a, k]
                by_side[i, side[a]] += w
            for j in range(na):
                t1[idx[j]] = we[idx[j]] * momentum[r, idx[j]]
            mom_sum[i] = _few_sum(t1, idx, na)
            for j in range(na):
                t1[idx[j]] = we[idx[j]] * morale[r, idx[j]]
            morale_sum[i] = _few_sum(t1, idx, na)
            for j in range(na):
                t1[idx[j]] = we[idx[j]] * fed[r, idx[j]]
            fed_sum[i] = _few_sum(t1, idx, na)
        else:
            for a in range(U):
                w = share[r, a, d]
                t1[a] = w * guns[r, a]
                t2[a] = w * tanks[r, a]
                we[a] = w * eff[r, a]
            att_guns[i] = _row_sum(t1)
            att_tanks[i] = _row_sum(t2)
            for a in range(U):
                w = we[a]
                for k in range(K):
                    lq_sum[i, k] += w * log_quality[a, k]
                by_side[i, side[a]] += w
            for a in range(U):
                t1[a] = we[a] * momentum[r, a]
            mom_sum[i] = _row_sum(t1)
            for a in range(U):
                t1[a] = we[a] * morale[r, a]
            morale_sum[i] = _row_sum(t1)
            for a in range(U):
                t1[a] = we[a] * fed[r, a]
            fed_sum[i] = _row_sum(t1)
        cmax = -1
        cmin = np.iinfo(np.int64).max
        for j in range(nb):
            ca = cell[r, jdx[j]]
            cmax = max(cmax, ca)
            cmin = min(cmin, ca)
        envelop[i] = cmax != cmin
        if finite[r] == 1 and nb <= 2:
            for j in range(nb):
                t1[jdx[j]] = elev[cell[r, jdx[j]]]
            elev_a[i] = _few_sum(t1, jdx, nb) / max(nb, 1)
        else:
            for a in range(U):
                b = attacking[r, a] and contact[r, a, d]
                t1[a] = (1.0 if b else 0.0) * elev[cell[r, a]]
            elev_a[i] = _row_sum(t1) / max(nb, 1)
    return att_guns, att_tanks, lq_sum, by_side, mom_sum, morale_sum, fed_sum, envelop, elev_a


@njit(cache=True, nogil=True)
def engagement_outcomes(contact, attacking, share, eff, att_men, cas_att_d, att_won, defended, x_cell, y_cell):
    """Per attacker: casualties from the engagements it joined (shared by effective men), whether
    it took part in one its side won or lost; per defender: the mean position of its attackers."""
    R, U = attacking.shape
    cas = np.zeros((R, U))
    in_won = np.zeros((R, U), np.bool_)
    in_lost = np.zeros((R, U), np.bool_)
    ax = np.zeros((R, U))
    ay = np.zeros((R, U))
    n_att = np.zeros(U)
    for r in range(R):
        n_att[:] = 0.0
        for a in range(U):
            if not attacking[r, a]:
                continue
            for d in range(U):
                if not contact[r, a, d]:
                    continue
                cas[r, a] += share[r, a, d] * (eff[r, a] / max(att_men[r, d], 1e-9)) * cas_att_d[r, d]
                if att_won[r, d]:
                    in_won[r, a] = True
                elif defended[r, d]:
                    in_lost[r, a] = True
                n_att[d] += 1.0
                ax[r, d] += x_cell[r, a]
                ay[r, d] += y_cell[r, a]
        for d in range(U):
            if n_att[d] > 0:
                ax[r, d] /= n_att[d]
                ay[r, d] /= n_att[d]
    return cas, in_won, in_lost, ax, ay


@njit(cache=True, nogil=True)
def primary_target(ctg_flat, row, ar, aa, contact, cell, men):
    """combat.primary_target_reference as a loop: for each attacker i (replication ar[i], unit
    aa[i]) the contacted enemy lowest on its cost-to-go field (its table row `row[i]` of the
    flattened ctg), plus 1e-6 of its men (ties by weakness), the first such; 0 where none."""
    n = ar.shape[0]
    U = cell.shape[1]
    out = np.zeros(n, np.int64)
    for i in range(n):
        r = ar[i]
        a = aa[i]
        best = np.inf
        k = 0
        for e in range(U):
            if contact[r, a, e]:
                v = ctg_flat[row[i] + cell[r, e]] + 1e-6 * men[r, e]
                if v < best:
                    best = v
                    k = e
        out[i] = k
    return out


@njit(cache=True, nogil=True)
def retreat_cells(nbr, edge_ok, x_km, y_km, rear_ctg, cell, side, ax, ay, n_cells):
    """combat.retreat_cells_reference as a loop: each beaten defender's path of n_cells steps
    from `cell`, one neighbour a step (toward its side's rear among the neighbours no nearer its
    attackers' mean position (ax, ay), ties further from them; none: the neighbour furthest from
    them; no way back: it stays); (where it ends, the cell before that)."""
    n = cell.shape[0]
    K = nbr.shape[1]
    cur = cell.copy()
    prev = cell.copy()
    for i in range(n):
        cc = cell[i]
        s = side[i]
        for _ in range(n_cells[i]):
            prev[i] = cc
            here = np.hypot(x_km[cc] - ax[i], y_km[cc] - ay[i])
            rear_here = rear_ctg[s, cc]
            any_back = False
            for j in range(K):
                nb = nbr[cc, j]
                if edge_ok[cc, j] and np.hypot(x_km[nb] - ax[i], y_km[nb] - ay[i]) >= here - 1e-9 \
                        and rear_ctg[s, nb] < rear_here:
                    any_back = True
            best = -np.inf
            pick = 0
            for j in range(K):
                nb = nbr[cc, j]
                away = np.hypot(x_km[nb] - ax[i], y_km[nb] - ay[i])
                if any_back:
                    back = edge_ok[cc, j] and away >= here - 1e-9 and rear_ctg[s, nb] < rear_here
                    v = -rear_ctg[s, nb] + 1e-6 * away if back else -np.inf
                else:
                    v = away if edge_ok[cc, j] else -np.inf
                if v > best:
                    best = v
                    pick = j
            if np.isfinite(best):
                cc = nbr[cc, pick]
        cur[i] = cc
    return cur, prev


# ------------------------------------------------------------------ 5. attrition (core.py)


@njit(cache=True, nogil=True)
def _men(arms, r, u):
    """Men of unit u in replication r, all arms, added in order (State.men's bits)."""
    return ((arms[r, u, 0] + arms[r, u, 1]) + arms[r, u, 2]) + arms[r, u, 3]


@njit(cache=True, nogil=True)
def men_of(arms):
    """(R,U) men of each unit, all arms, added in order (State.men)."""
    R, U = arms.shape[0], arms.shape[1]
    out = np.empty((R, U))
    for r in range(R):
        for u in range(U):
            out[r, u] = _men(arms, r, u)
    return out


@njit(cache=True, nogil=True)
def add_men(arms, n, share):
    """Add n (R,U) men to each unit, share (U,4) of them to each arm (in place)."""
    R, U = n.shape
    for r in range(R):
        for u in range(U):
            for j in range(arms.shape[2]):
                arms[r, u, j] += n[r, u] * share[u, j]


@njit(cache=True, nogil=True)
def remove_men(arms, n):
    """Take n (R,U) men from each unit, every arm in proportion (in place)."""
    R, U = n.shape
    for r in range(R):
        for u in range(U):
            m = _men(arms, r, u)
            if m > 0:
                f = 1.0 - min(n[r, u], m) / max(m, 1e-9)
                for j in range(arms.shape[2]):
                    arms[r, u, j] *= f


@njit(cache=True, nogil=True)
def book_battle_losses(arms, ledger, wounded_pool, cas, beaten, routed, side_capture_u, killed_f, missing_f,
                       beaten_missing_f, captured_f, routed_extra, dow_f, k_killed, k_wounded, k_dow, k_missing,
                       k_captured):
    """Book battle casualties (R,U) by category in the ledger (killed, wounded, died of wounds,
    missing, captured: see combat.CombatParams) and take them from the units (in place).
    Beaten units lose more missing and captured, routed ones more still."""
    R, U = cas.shape
    extra = 0.5 * routed_extra
    for r in range(R):
        for u in range(U):
            c = min(cas[r, u], _men(arms, r, u))
            miss = beaten_missing_f if beaten[r, u] else missing_f
            capt = captured_f * side_capture_u[u] if beaten[r, u] else 0.0
            miss = miss + (extra if routed[r, u] else 0.0)
            capt = capt + (extra * side_capture_u[u] if routed[r, u] else 0.0)
            k = c * killed_f
            m = c * miss
            cp = c * capt
            w = max(c - k - m - cp, 0.0)
            dow = w * dow_f
            ledger[r, u, k_killed] += k
            ledger[r, u, k_wounded] += w
            ledger[r, u, k_dow] += dow
            ledger[r, u, k_missing] += m
            ledger[r, u, k_captured] += cp
            wounded_pool[r, u] += w - dow
            cas[r, u] = c
    remove_men(arms, cas)


# ------------------------------------------------------------------ 6. supply (supply.py)


@njit(cache=True, nogil=True)
def stock_update(supply, men, need, delivered, dt_days, basic_load_days, kg_reference, ration_stock):
    """supply.stock_update_reference, element by element: (stock, fed) for arrays of any one
    shape (R,U)."""
    R, U = supply.shape
    stock = np.empty((R, U))
    fed = np.empty((R, U))
    r_ = ration_stock
    for i in range(R):
        for j in range(U):
            load = max(men[i, j] * kg_reference * basic_load_days / 1000.0, 1e-9)
            n = max(need[i, j], 1e-12)
            c = delivered[i, j] / n
            x0 = supply[i, j]
            if c >= 1.0:
                stock[i, j] = min(max(min(1.0, x0 + (c - 1.0) * n * dt_days / load), 0.0), 1.0)
                fed[i, j] = 1.0
                continue
            rate = (1.0 - c) * n / load
            t1 = (x0 - r_) / max(rate, 1e-12) if x0 > r_ else 0.0
            if t1 >= dt_days:
                x1 = x0 - rate * dt_days
            else:
                floor = c * r_
                tau = max(r_ * load / n, 1e-12)
                start = r_ if x0 > r_ else x0
                if start > floor:
                    x1 = floor + (start - floor) * np.exp(-max(dt_days - t1, 0.0) / tau)
                else:
                    x1 = start
            x1 = min(max(x1, 0.0), 1.0)
            stock[i, j] = x1
            if need[i, j] <= 0:
                fed[i, j] = 1.0
            elif t1 >= dt_days:
                fed[i, j] = 1.0
            else:
                fed[i, j] = max(min(1.0, c + (x0 - x1) * load / (n * dt_days)), 0.0)
    return stock, fed


@njit(cache=True, nogil=True)
def line_share(depot_next, capacity, load, cell, side, depot):
    """supply.line_share_reference: for each unit, the least over the cells between it and its
    depot (following depot_next, its own cell excluded) of min(1, capacity / its side's
    vehicles there), (R,U)."""
    R, U = cell.shape
    out = np.ones((R, U))
    for r in range(R):
        for u in range(U):
            d = depot[r, u]
            here = cell[r, u]
            share = 1.0
            for _ in range(depot_next.shape[1]):
                nxt = depot_next[d, here]
                if nxt == here:
                    break
                here = nxt
                v = load[r, side[u], here]
                if v > capacity[here]:
                    share = min(share, capacity[here] / v)
            out[r, u] = share
    return out


@njit(cache=True, nogil=True)
def nearest_depot(depot_ctg, cell, depot_side, side, stock):
    """For each unit: the quickest-reached depot of its side that still holds stock, and the
    hours to it (inf where none: depot index 0), each (R,U)."""
    R, U = cell.shape
    D = depot_ctg.shape[0]
    best_d = np.zeros((R, U), np.int64)
    best_h = np.full((R, U), np.inf)
    for r in range(R):
        for u in range(U):
            for d in range(D):
                if depot_side[d] == side[u] and stock[r, d] > 0:
                    h = depot_ctg[d, cell[r, u]]
                    if h < best_h[r, u]:
                        best_h[r, u] = h
                        best_d[r, u] = d
    return best_d, best_h



@njit(cache=True, nogil=True)
def _may_separate(nbr, cell, alive, side, k, r, own, blocked, stack, mark):
    """Whether side k's blocked cells (enemy cells it does not share; `blocked`) could cut any
    cell off from another: on a hex map a set of cells separates others only if it holds a ring
    of at least six cells joined as neighbours, or a chain of them touching the map's edge. So
    when every group of joined blocked cells has fewer than six and none lies on the edge,
    nothing is cut off and the search can be skipped (the cost of the search was most of the
    lines-of-communication check). `stack` and `mark` are scratch arrays of the map's size;
    `mark` is left all False."""
    U = cell.shape[1]
    risky = False
    for e in range(U):
        if alive[r, e] and side[e] != k and blocked[cell[r, e]]:
            c0 = cell[r, e]
            for j in range(6):
                if nbr[c0, j] < 0 or nbr[c0, j] == c0:
                    risky = True  # on the map's edge
    if not risky:
        for e in range(U):
            if not (alive[r, e] and side[e] != k):
                continue
            c0 = cell[r, e]
            if not blocked[c0] or mark[c0]:
                continue
            mark[c0] = True
            stack[0] = c0
            top = 1
            size = 0
            while top > 0:
                top -= 1
                c1 = stack[top]
                size += 1
                for j in range(6):
                    nb = nbr[c1, j]
                    if nb >= 0 and blocked[nb] and not mark[nb]:
                        mark[nb] = True
                        stack[top] = nb
                        top += 1
            if size >= 6:
                risky = True
                break
    for e in range(U):  # clear the marks (only blocked cells were marked)
        if alive[r, e] and side[e] != k:
            c0 = cell[r, e]
            mark[c0] = False
            for j in range(6):
                nb = nbr[c0, j]
                if nb >= 0:
                    mark[nb] = False
    return risky


@njit(cache=True, nogil=True)
def supply_connected(nbr, cell, alive, side, enemy, n_sides, depot_cell, depot_side, stock, own_zoc_free):
    """(R,U) bool: each unit's cell can be reached from a stocked depot of its side over cells no
    enemy unit holds alone, nor any enemy unit's neighbour unless one of the side's own units stands
    there (a line of communication runs through ground the side controls; an enemy astride it,
    or on both sides of it, cuts it). `own_zoc_free`: enemy zones of control do not block."""
    R, U = cell.shape
    C = nbr.shape[0]
    out = np.zeros((R, U), np.bool_)
    blocked = np.zeros(C, np.bool_)
    own = np.zeros(C, np.bool_)
    seen = np.zeros(C, np.bool_)
    queue = np.zeros(C, np.int64)
    for r in range(R):
        for k in range(n_sides):
            has = False
            for u in range(U):
                if side[u] == k and alive[r, u]:
                    has = True
                    break
            if not has:
                continue
            blocked[:] = False
            own[:] = False
            for u in range(U):
                if alive[r, u] and side[u] == k:
                    own[cell[r, u]] = True
            for e in range(U):
                if alive[r, e] and side[e] != k:
                    c0 = cell[r, e]
                    blocked[c0] = not own[c0]  # a cell both hold is not the enemy's
                    if not own_zoc_free:
                        for j in range(6):
                            nb = nbr[c0, j]
                            if nb >= 0 and nb != c0 and not own[nb]:
                                blocked[nb] = True
            if own_zoc_free and not _may_separate(nbr, cell, alive, side, k, r, own, blocked, queue, seen):
                # nothing can be cut off: every unit is reached if any stocked depot is
                reach = False
                for d in range(depot_cell.shape[0]):
                    if depot_side[d] == k and stock[r, d] > 0:
                        reach = True
                for u in range(U):
                    if side[u] == k:
                        out[r, u] = reach
                continue
            seen[:] = False
            head = 0
            tail = 0
            # the search stops once every cell the side's units stand on is reached
            left = 0
            for c1 in range(C):
                if own[c1]:
                    left += 1
            for d in range(depot_cell.shape[0]):
                dc = depot_cell[d]
                if depot_side[d] == k and stock[r, d] > 0 and not seen[dc]:
                    seen[dc] = True
                    if own[dc]:
                        left -= 1
                    queue[tail] = dc
                    tail += 1
            while head < tail and left > 0:
                c0 = queue[head]
                head += 1
                for j in range(6):
                    nb = nbr[c0, j]
                    if nb >= 0 and not seen[nb] and not blocked[nb]:
                        seen[nb] = True
                        if own[nb]:
                            left -= 1
                        queue[tail] = nb
                        tail += 1
            for u in range(U):
                if side[u] == k:
                    out[r, u] = seen[cell[r, u]]
    return out

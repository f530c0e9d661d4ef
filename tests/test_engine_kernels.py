"""The engine's Numba kernels give what the plain NumPy formulation of the same rule gives.

Each kernel replaced a dense NumPy expression over (R,U,U) masks (the
engine's first version); the NumPy forms are kept here as the reference, and
random batches on a small synthetic map (cells on a line, neighbours up to
three apart) check the two agree: exactly for masks and choices, to rounding
for sums.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xuefeng.engine import kernels

C = 40  # cells on the synthetic map


def line_map() -> tuple[np.ndarray, np.ndarray]:
    """nbr_self (C,7): each cell and the cells 1..3 to either side (-1 off the map); adj (C,C)."""
    nbr_self = np.full((C, 7), -1, np.int64)
    for i in range(C):
        row = [i] + [j for j in (i - 3, i - 2, i - 1, i + 1, i + 2, i + 3) if 0 <= j < C]
        nbr_self[i, : len(row)] = row
    idx = np.arange(C)
    adj = np.abs(idx[:, None] - idx[None, :]) <= 3
    return nbr_self, adj


NBR_SELF, ADJ = line_map()
NO_ADJ = np.zeros((0, 0), bool)


def batch(seed: int, R: int, U: int):
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, U)
    side[0], side[-1] = 0, 1
    enemy = side[:, None] != side[None, :]
    cell = rng.integers(0, C, (R, U))
    alive = rng.random((R, U)) < 0.85
    men = rng.uniform(200, 12000, (R, U))
    return rng, side, enemy, cell, alive, men


def dense_touch(cell, alive):
    return ADJ[cell[:, :, None], cell[:, None, :]] & alive[:, :, None] & alive[:, None, :]


cases = given(seed=st.integers(0, 2**32 - 1), R=st.integers(1, 6), U=st.integers(2, 12))


@settings(max_examples=40, deadline=None)
@cases
def test_contact_and_local_power(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    withdrawing = rng.random((R, U)) < 0.3
    touch = dense_touch(cell, alive)
    contact_ref = touch & enemy[None]
    for adj in (ADJ, NO_ADJ):  # table lookup and neighbour-list paths
        contact, touching = kernels.contact_matrix(adj, NBR_SELF, cell, alive, enemy)
        assert np.array_equal(contact, contact_ref)
        assert np.array_equal(touching, contact_ref.any(2))
        own, opp, t2, twd = kernels.local_power(adj, NBR_SELF, cell, alive, men, withdrawing, enemy)
        w = men * alive
        np.testing.assert_allclose(own, np.einsum("rab,rb->ra", (touch & ~enemy[None]).astype(float), w))
        np.testing.assert_allclose(opp, np.einsum("rab,rb->ra", contact_ref.astype(float), w))
        assert np.array_equal(t2, contact_ref.any(2))
        assert np.array_equal(twd, (contact_ref & withdrawing[:, None, :]).any(2))


@settings(max_examples=40, deadline=None)
@cases
def test_envelop_targets(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    x_cell = rng.uniform(0, 30, (R, U))
    y_cell = rng.uniform(0, 30, (R, U))
    touching = rng.random((R, U)) < 0.5
    free = rng.random((R, U)) < 0.5
    radius, ratio = 12.0, 1.2
    got = kernels.envelop_targets(x_cell, y_cell, cell, alive, touching, free, men, enemy, radius, ratio)
    # the engine's first (dense) formulation
    d = np.hypot(x_cell[:, :, None] - x_cell[:, None, :], y_cell[:, :, None] - y_cell[:, None, :])
    valid = alive[:, :, None] & (alive & touching)[:, None, :] & enemy[None]
    d = np.where(valid, d, np.inf)
    near = d <= radius
    against = np.einsum("rve,rv->re", near.astype(float), men * alive)
    superior = against >= ratio * np.maximum(men, 1.0)
    cand = (free & alive)[:, :, None] & near & (touching & superior)[:, None, :]
    e = np.argmin(np.where(cand, d, np.inf), axis=2)
    want = np.where(cand.any(2), np.take_along_axis(cell, e, axis=1), -1)
    assert np.array_equal(got, want)


@settings(max_examples=40, deadline=None)
@cases
def test_phase_choice_and_objective_sums(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    P = 5
    phase_units = rng.random((P, U)) < 0.4
    phase_side = rng.integers(0, 2, P)
    score = np.where(rng.random((R, P)) < 0.6, rng.integers(0, 50, (R, P)) * P + np.arange(P), -1)
    best = np.where(phase_units[None], score[:, :, None], -1).max(1)
    assert np.array_equal(kernels.latest_phase(score, phase_units), np.where(best >= 0, best % P, -1))
    near_cell = rng.random((C, P)) < 0.3
    w = men * alive
    emen, omen = kernels.men_near_objectives(near_cell, cell, w, phase_units, phase_side, side)
    near = near_cell[cell].transpose(2, 0, 1).astype(float)  # (P,R,U)
    opp = side[None, :] != phase_side[:, None]
    np.testing.assert_allclose(emen, np.einsum("pru,ru,pu->rp", near, w, opp.astype(float)))
    np.testing.assert_allclose(omen, np.einsum("pru,ru,pu->rp", near, w, (~opp & ~phase_units).astype(float)))
    m = rng.random((U, 3))
    assert np.array_equal(kernels.row_matmul(w, m), np.einsum("ru,us->rs", w, m))


@settings(max_examples=40, deadline=None)
@cases
def test_attack_split_and_outcomes(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    contact = dense_touch(cell, alive) & enemy[None]
    attacking = contact.any(2) & (rng.random((R, U)) < 0.6)
    eff = men * rng.uniform(0.5, 1.0, (R, U))
    share, att_men = kernels.attack_split(contact, attacking, men, eff)
    A = attacking[:, :, None] & contact
    wd = np.where(A, men[:, None, :], 0.0)
    Af = wd / np.maximum(wd.sum(2, keepdims=True), 1e-9)
    np.testing.assert_allclose(share, Af)
    np.testing.assert_allclose(att_men, np.einsum("rad,ra->rd", Af, eff))
    defended = att_men > 0
    att_won = defended & (rng.random((R, U)) < 0.5)
    cas_att_d = np.where(defended, rng.uniform(0, 300, (R, U)), 0.0)
    x, y = rng.uniform(0, 50, (R, U)), rng.uniform(0, 50, (R, U))
    cas, in_won, in_lost, ax, ay = kernels.engagement_outcomes(contact, attacking, share, eff, att_men, cas_att_d,
                                                               att_won, defended, x, y)
    Ab = A.astype(float)
    np.testing.assert_allclose(cas, np.einsum("rad,rd->ra", Af * (eff[:, :, None] / np.maximum(att_men[:, None, :], 1e-9)),
                                              cas_att_d))
    assert np.array_equal(in_won, np.einsum("rad,rd->ra", Ab, att_won.astype(float)) > 0)
    assert np.array_equal(in_lost, np.einsum("rad,rd->ra", Ab, (defended & ~att_won).astype(float)) > 0)
    n_att = np.maximum(Ab.sum(1), 1)
    np.testing.assert_allclose(ax, np.einsum("rad,ra->rd", Ab, x) / n_att)
    np.testing.assert_allclose(ay, np.einsum("rad,ra->rd", Ab, y) / n_att)


@settings(max_examples=40, deadline=None)
@cases
def test_battle_losses_are_booked_and_removed(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    arms = rng.uniform(0, 3000, (R, U, 4))
    ledger = rng.uniform(0, 100, (R, U, 8))
    pool = rng.uniform(0, 100, (R, U))
    cas = rng.uniform(0, 4000, (R, U))  # sometimes more than the unit has
    beaten = rng.random((R, U)) < 0.4
    routed = beaten & (rng.random((R, U)) < 0.5)
    sc = rng.uniform(0, 2, U)
    f = dict(killed=0.36, miss=0.02, bmiss=0.08, capt=0.01, rextra=0.1, dow=0.05)
    arms0, ledger0, pool0 = arms.copy(), ledger.copy(), pool.copy()
    kernels.book_battle_losses(arms, ledger, pool, cas.copy(), beaten, routed, sc, f["killed"], f["miss"],
                               f["bmiss"], f["capt"], f["rextra"], f["dow"], 0, 1, 2, 3, 4)
    men0 = arms0.sum(-1)
    c = np.minimum(cas, men0)
    miss = np.where(beaten, f["bmiss"], f["miss"]) + np.where(routed, 0.5 * f["rextra"], 0.0)
    capt = np.where(beaten, f["capt"] * sc[None], 0.0) + np.where(routed, 0.5 * f["rextra"] * sc[None], 0.0)
    k, m, cp = c * f["killed"], c * miss, c * capt
    w = np.maximum(c - k - m - cp, 0.0)
    np.testing.assert_allclose(ledger[..., 0] - ledger0[..., 0], k, atol=1e-9)
    np.testing.assert_allclose(ledger[..., 1] - ledger0[..., 1], w, atol=1e-9)
    np.testing.assert_allclose(ledger[..., 2] - ledger0[..., 2], w * f["dow"], atol=1e-9)
    np.testing.assert_allclose(ledger[..., 3] - ledger0[..., 3], m, atol=1e-9)
    np.testing.assert_allclose(ledger[..., 4] - ledger0[..., 4], cp, atol=1e-9)
    assert np.array_equal(ledger[..., 5:], ledger0[..., 5:])
    np.testing.assert_allclose(pool - pool0, w - w * f["dow"], atol=1e-9)
    np.testing.assert_allclose(arms.sum(-1), men0 - c, atol=1e-6)
    # every arm loses the same share
    share = np.where(men0 > 0, (men0 - c) / np.maximum(men0, 1e-9), 1.0)
    np.testing.assert_allclose(arms, arms0 * share[..., None], atol=1e-6)


@settings(max_examples=40, deadline=None)
@cases
def test_nearest_depot_and_zones(seed: int, R: int, U: int) -> None:
    rng, side, enemy, cell, alive, men = batch(seed, R, U)
    D = 4
    depot_ctg = np.where(rng.random((D, C)) < 0.8, rng.uniform(0, 100, (D, C)), np.inf)
    depot_side = rng.integers(0, 2, D)
    stock = np.where(rng.random((R, D)) < 0.7, 100.0, 0.0)
    d, h = kernels.nearest_depot(depot_ctg, cell, depot_side, side, stock)
    hh = np.take(depot_ctg, cell, axis=1)
    ok = (depot_side[:, None, None] == side[None, None, :]) & (stock.T[:, :, None] > 0)
    hh = np.where(ok, hh, np.inf)
    assert np.array_equal(d, np.argmin(hh, axis=0))
    assert np.array_equal(h, hh.min(0))
    # zones of control: a cell next to (or holding) a live enemy
    got = kernels.in_enemy_zone(NBR_SELF, cell, alive, side, 2, C)
    near_enemy = ADJ[cell[:, :, None], cell[:, None, :]] & alive[:, None, :] & enemy[None]
    assert np.array_equal(got, near_enemy.any(2))


def test_march_stops_on_entering_an_enemy_zone() -> None:
    """A unit marching down the line toward cell 0 stops in the first cell next to an enemy."""
    nbr = NBR_SELF[:, 1:]  # 6 neighbour slots
    next_k = np.full((1, 1, C), -1, np.int8)
    for i in range(1, C):
        next_k[0, 0, i] = list(nbr[i]).index(i - 1)  # step to the cell below
    eh = np.ones((2, 1, C, 6))
    cell = np.array([[30, 10]])
    side = np.array([0, 1])
    ekm = np.full((C, 6), 6.0)  # each hop counts 6 km
    none = np.full((1, 2), -1, np.int64)
    new, mp, moved, km, _, _ = kernels.march(nbr, NBR_SELF, next_k, eh, ekm, np.zeros(2, np.int64), side, 2,
                                             np.array([[0, -1]]), cell, np.array([[30.0, 0.0]]),
                                             np.array([[True, False]]), np.array([[False, False]]),
                                             np.array([[True, True]]), np.array([False]), 40,
                                             np.full((C, 6), -1, np.int64), np.zeros((1, 0), bool),
                                             np.zeros((2, 1, 0)), np.zeros((1, 2), bool), none, none)
    assert new[0, 0] == 13  # 10 + 3: the edge of the enemy's zone
    assert moved[0, 0] == pytest.approx(17.0) and mp[0, 0] == pytest.approx(13.0)
    assert km[0, 0] == pytest.approx(17 * 6.0)  # the km of the hops it made
    assert new[0, 1] == 10 and moved[0, 1] == 0.0 and km[0, 1] == 0.0


def test_a_bypassing_unit_marches_on_past_the_enemy_without_entering_its_cell() -> None:
    """Two units in an enemy's zone of control on the way to cell 0: the one that stays does
    not march; the bypassing one ignores the zone and, where its field leads into the enemy's
    cell, goes round it over the enemy's free neighbours to the cell after it on its field,
    then marches on."""
    nbr = NBR_SELF[:, 1:]
    next_k = np.full((1, 1, C), -1, np.int8)
    for i in range(1, C):
        next_k[0, 0, i] = list(nbr[i]).index(i - 1)
    eh = np.ones((2, 1, C, 6))
    cell = np.array([[12, 12, 10]])
    side = np.array([0, 0, 1])
    go = np.array([[True, True, False]])
    none = np.full((1, 3), -1, np.int64)
    args = (nbr, NBR_SELF, next_k, eh, np.ones((C, 6)), np.zeros(3, np.int64), side, 2, np.array([[0, 0, -1]]),
            cell, np.array([[6.0, 6.0, 0.0]]), go, np.zeros((1, 3), bool), np.ones((1, 3), bool), np.array([False]),
            40, np.full((C, 6), -1, np.int64), np.zeros((1, 0), bool), np.zeros((2, 1, 0)))
    new, mp, moved, km, around, to = kernels.march(*args, np.array([[False, True, False]]), none, none)
    assert new[0, 0] == 12 and moved[0, 0] == 0.0  # held in the zone of control
    # 12 -> 11, round the enemy's cell 10 to 9 (the cell after it on the field), 8 ... 5
    assert new[0, 1] == 5 and moved[0, 1] == pytest.approx(6.0) and km[0, 1] == pytest.approx(6.0)
    assert new[0, 2] == 10 and to[0, 1] == -1 and around[0, 1] == -1  # the detour is over


def test_a_detour_round_an_enemy_is_kept_over_steps_until_the_unit_is_past_it() -> None:
    """With hours for one hop a step, a bypassing unit beside the enemy's cell takes the first
    hop of its way round and keeps the detour (the enemy's cell and the cell after it) for the
    next step instead of following its field back; once there, the detour is over."""
    # a hex ring: cell 0 is the enemy, 1..6 round it in order, 7 beyond 4 toward the goal 8
    K = 6
    nbr = np.full((9, K), -1, np.int64)
    ring = [1, 2, 3, 4, 5, 6]
    nbr[0] = ring
    for i, a in enumerate(ring):
        b, d = ring[(i + 1) % 6], ring[(i - 1) % 6]
        nbr[a, :3] = [0, b, d]
    nbr[4, 3] = 7
    nbr[7, :2] = [4, 8]
    nbr[8, 0] = 7
    nbr = np.where(nbr >= 0, nbr, np.arange(9)[:, None])
    nbr_self = np.concatenate([np.arange(9)[:, None], np.where(nbr != np.arange(9)[:, None], nbr, -2)], axis=1)
    # the field: 1 -> 0 -> 4 -> 7 -> 8 (straight through the enemy); elsewhere round the ring
    nxt = {1: 0, 0: 4, 4: 7, 7: 8, 2: 3, 3: 4, 6: 5, 5: 4}
    next_k = np.full((1, 1, 9), -1, np.int8)
    for a, b in nxt.items():
        next_k[0, 0, a] = list(nbr[a]).index(b)
    eh = np.ones((2, 1, 9, K))
    side = np.array([0, 1])
    cell = np.array([[1, 0]])
    none = np.full((1, 2), -1, np.int64)
    base = (nbr, nbr_self, next_k, eh, np.ones((9, K)), np.zeros(2, np.int64), side, 2, np.array([[0, -1]]))
    rest = (np.array([[True, False]]), np.zeros((1, 2), bool), np.ones((1, 2), bool), np.array([False]), 8,
            np.full((9, K), -1, np.int64), np.zeros((1, 0), bool), np.zeros((2, 1, 0)), np.array([[True, False]]))
    path = [1]
    around, to = none, none
    for _ in range(4):
        new, mp, moved, km, around, to = kernels.march(*base, cell, np.array([[1.0, 0.0]]), *rest, around, to)
        cell = new
        path.append(int(cell[0, 0]))
    # 1 -> 2 (round 0: 1, 2, 3, 4 is as short as 1, 6, 5, 4), never back to 1, then 3, 4, 7
    assert path[1] in (2, 6) and 1 not in path[1:] and 0 not in path and path[3] == 4 and path[4] == 7
    assert to[0, 0] == -1


def test_bypassers_leave_enough_men_on_their_target() -> None:
    """In unit order, a motorised attacker leaves its engagement while the attackers staying on
    the target keep bypass_ratio times its men; foot units and units with no target stay."""
    target = np.array([[3, 3, 3, -1]])
    men = np.array([[10000.0, 8000.0, 9000.0, 5000.0]])
    motor = np.array([True, True, False, True])
    ratio = np.full(4, 2.0)
    out = kernels.bypassers(target, men, motor, ratio)
    # 27,000 on a 5,000-man target: unit 0 goes (17,000 stay >= 10,000), then unit 1 would leave
    # 9,000 < 10,000 and stays; unit 2 marches on foot; unit 3 is the target
    assert out[0].tolist() == [True, False, False, False]
    assert not kernels.bypassers(target, men, motor, np.zeros(4)).any()  # 0: no bypassing


def test_batch_size_bounds_the_unit_pair_arrays() -> None:
    from xuefeng.engine import BATCH, PAIR_BYTES, batch_size

    assert batch_size(29) == BATCH  # West Hunan: a full batch
    big = batch_size(500)
    assert 64 <= big < BATCH and big * 500 * 500 * 16 <= max(PAIR_BYTES, 64 * 500 * 500 * 16)
    assert batch_size(5000) == 64  # never fewer


def test_men_facing_counts_the_attackers_reserves_as_it_counts_the_enemy() -> None:
    """An offensive's gathered men are its attack-phase units and its other units within the
    radius of them (as every enemy unit within the radius counts against it), so a first wave
    with its second echelon close behind is not 'outnumbered' by the enemy near it."""
    # side 0: attacker at 0 km, reserve 20 km behind, a far unit 80 km off; side 1: two units near
    x = np.array([[0.0, -20.0, -80.0, 10.0, 25.0]])
    y = np.zeros_like(x)
    alive = np.ones_like(x, dtype=bool)
    attacking = np.array([[True, False, False, False, False]])
    men = np.array([[10000.0, 8000.0, 5000.0, 9000.0, 6000.0]])
    side = np.array([0, 0, 0, 1, 1])
    own, opp = kernels.men_facing(x, y, alive, attacking, men, side, 2, 30.0)
    assert own[0, 0] == 18000.0  # attacker + reserve within 30 km, not the far unit
    assert opp[0, 0] == 15000.0  # both enemy units within 30 km of the attacker
    assert own[0, 1] == 0.0 and opp[0, 1] == 0.0  # side 1 has no offensive
    dead = alive.copy(); dead[0, 1] = False
    own2, _ = kernels.men_facing(x, y, dead, attacking, men, side, 2, 30.0)
    assert own2[0, 0] == 10000.0


def _connected_reference(nbr, cells_own, cells_enemy, depots):
    """Plain search: cells reachable from the depots over cells no enemy holds alone."""
    own = set(cells_own)
    blocked = {e for e in cells_enemy if e not in own}
    seen = set(depots)
    todo = list(depots)
    while todo:
        c0 = todo.pop()
        for nb in nbr[c0]:
            if nb >= 0 and nb not in seen and nb not in blocked:
                seen.add(nb)
                todo.append(nb)
    return [c in seen for c in cells_own]


def test_supply_connected_skips_the_search_only_where_nothing_can_be_cut_off() -> None:
    """Scattered enemies cut nothing off (the search is skipped); rings of six and chains to the
    map's edge are searched: the kernel agrees with a plain search on random and ringed layouts."""
    from engine_scenarios import base, build, unit

    from xuefeng.engine.compile import compile_scenario

    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.15), unit("b", "blue", 27.5, 110.75)]
    c = compile_scenario(build(d))
    nbr = c.nbr
    C = nbr.shape[0]
    rng = np.random.default_rng(3)
    R, n_own, n_enemy = 60, 4, 12
    U = n_own + n_enemy
    side = np.array([0] * n_own + [1] * n_enemy)
    cell = np.zeros((R, U), np.int64)
    for r in range(R):
        own = rng.choice(C, n_own, replace=False)
        if r % 3 == 0:  # an own unit ringed by six enemies
            ring = [x for x in nbr[own[0]] if x != own[0]][:6]
            enemy = np.concatenate([ring, rng.choice(C, n_enemy - len(ring))])[:n_enemy]
        else:
            enemy = rng.choice(C, n_enemy)
        cell[r] = np.concatenate([own, enemy])
    depot_cell = np.array([int(cell[0, 1])])
    alive = np.ones((R, U), bool)
    enemy_m = side[:, None] != side[None, :]
    out = kernels.supply_connected(nbr, cell, alive, side, enemy_m, 2, depot_cell, np.array([0]), np.ones((R, 1)), True)
    for r in range(R):
        want = _connected_reference(nbr, list(cell[r, :n_own]), list(cell[r, n_own:]), [int(depot_cell[0])])
        assert out[r, :n_own].tolist() == want, r
    assert not out[::3, 0].all()  # some ringed units are cut off


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ration=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
       dt=st.sampled_from([0.125, 0.25, 0.5, 2.0]))
def test_stock_update_kernel_is_the_reference(seed: int, ration: float, dt: float) -> None:
    """kernels.stock_update gives supply.stock_update_reference's stock and fed, to rounding,
    over stocks above and below the ration level, deliveries short of and beyond the need, and
    units with no need."""
    from xuefeng.engine.supply import SupplyParams, stock_update_reference

    rng = np.random.default_rng(seed)
    R, U = 5, 9
    p = SupplyParams(ration_stock=ration)
    supply = rng.uniform(0, 1, (R, U))
    men = rng.uniform(100, 15000, (R, U))
    need = men * rng.uniform(1.5, 5.0, (R, U)) / 1000 * (rng.random((R, U)) > 0.1)
    delivered = need * rng.uniform(0, 1.6, (R, U))
    want = stock_update_reference(p, supply, men, need, delivered, dt)
    got = kernels.stock_update(supply, men, need, delivered, dt, p.basic_load_days, p.kg_reference, p.ration_stock)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)

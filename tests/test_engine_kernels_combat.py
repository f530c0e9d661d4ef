"""The combat, loss and strength kernels (kernels.primary_target, kernels.retreat_cells,
kernels.men_of, kernels.add_men) give exactly what the NumPy form of the same rule gives
(combat.primary_target_reference, combat.retreat_cells_reference, the arms' columns added in
order), on random inputs over a real compiled map."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xuefeng.engine import combat, compile_scenario, kernels
from xuefeng.scenario import load_scenario

cases = given(seed=st.integers(0, 2**32 - 1), R=st.integers(1, 6), U=st.integers(2, 12))


@lru_cache(maxsize=1)
def compiled():
    return compile_scenario(load_scenario("west-hunan-1945"))


def random_cells(rng, c, shape, spread: int = 30) -> np.ndarray:
    """Cells clustered around one random cell (so that units touch), `shape`."""
    start = int(rng.integers(0, c.nbr.shape[0]))
    cells = np.full(shape, start, np.int64).ravel()
    for i in range(cells.size):
        for _ in range(int(rng.integers(0, spread))):
            nb = c.nbr[cells[i], int(rng.integers(0, c.nbr.shape[1]))]
            if nb >= 0:
                cells[i] = nb
    return cells.reshape(shape)


@settings(max_examples=40, deadline=None)
@cases
def test_primary_target_kernel_is_the_reference(seed: int, R: int, U: int) -> None:
    c = compiled()
    rng = np.random.default_rng(seed)
    n_modes, n_fields = c.ctg.shape[:2]
    cc = SimpleNamespace(ctg=c.ctg, mode=rng.integers(0, n_modes, U))
    s = SimpleNamespace(cell=random_cells(rng, c, (R, U)), field=rng.integers(-1, n_fields, (R, U)))
    contact = rng.random((R, U, U)) < 0.3
    # ties: some men equal, some all-inf rows (no contact)
    men = rng.choice([500.0, 1000.0, 8000.0], (R, U)) if seed % 2 else rng.uniform(200, 12000, (R, U))
    attacking = rng.random((R, U)) < 0.6
    ar, aa = np.nonzero(attacking)
    want = combat.primary_target_reference(cc, s, contact, men, ar, aa)
    got = combat.primary_target(cc, s, contact, men, ar, aa)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), ties=st.booleans())
def test_retreat_cells_kernel_is_the_reference(seed: int, n: int, ties: bool) -> None:
    c = compiled()
    rng = np.random.default_rng(seed)
    S, C = c.rear_ctg.shape
    rear = c.rear_ctg
    if ties:  # coarse distances to the rear (many ties), some cells unreachable
        rear = np.where(rng.random((S, C)) < 0.1, np.inf, rng.integers(0, 4, (S, C)).astype(float))
    edge_ok = c.edge_ok & (rng.random(c.edge_ok.shape) < 0.9)
    cc = dataclasses.replace(c, rear_ctg=rear, edge_ok=edge_ok)
    cell = random_cells(rng, c, (n,), 200)
    side = rng.integers(0, S, n)
    # the attackers' mean position near the defender (sometimes on its cell: ties of distance)
    ax = c.x_km[cell] + rng.normal(0, 10, n) * (rng.random(n) < 0.8)
    ay = c.y_km[cell] + rng.normal(0, 10, n) * (rng.random(n) < 0.8)
    n_cells = rng.integers(0, 9, n)
    p = combat.CombatParams()
    want = combat.retreat_cells_reference(cc, p, cell, side, ax, ay, n_cells)
    got = combat.retreat_cells(cc, p, cell, side, ax, ay, n_cells)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@settings(max_examples=40, deadline=None)
@cases
def test_men_and_added_men_kernels_are_the_numpy_sums(seed: int, R: int, U: int) -> None:
    rng = np.random.default_rng(seed)
    arms = rng.uniform(0, 5000, (R, U, 4)) * (rng.random((R, U, 1)) < 0.9)
    a = arms
    np.testing.assert_array_equal(kernels.men_of(arms), ((a[..., 0] + a[..., 1]) + a[..., 2]) + a[..., 3])
    np.testing.assert_array_equal(kernels.men_of(arms), arms.sum(-1))
    n = rng.uniform(0, 300, (R, U)) * (rng.random((R, U)) < 0.5)
    share = rng.dirichlet(np.ones(4), U)
    want = arms + n[..., None] * share[None]
    got = arms.copy()
    kernels.add_men(got, n, share)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), R=st.integers(1, 6), U=st.integers(2, 40),
       density=st.sampled_from([0.03, 0.1, 0.3]), odd=st.booleans())
def test_engagement_inputs_kernel_is_the_reference(seed: int, R: int, U: int, density: float, odd: bool) -> None:
    """Both of the kernel's ways: engagements of one or two attackers and of more, defenders
    with no men (contact, but no share), and (odd) inputs that are not finite."""
    rng = np.random.default_rng(seed)
    C = 50
    side = rng.integers(0, 2, U)
    side[0], side[-1] = 0, 1
    cc = SimpleNamespace(log_quality=rng.normal(0, 0.3, (U, 7)), side=side, n_sides=2,
                         elev=rng.uniform(-50, 1500, C))  # some cells below sea level
    s = SimpleNamespace(cell=rng.integers(0, C, (R, U)), momentum=rng.uniform(-1, 1, (R, U)),
                        morale=rng.random((R, U)), fed=rng.random((R, U)))
    contact = (rng.random((R, U, U)) < density) & (side[:, None] != side[None, :])[None]
    attacking = rng.random((R, U)) < 0.6
    men = rng.uniform(200, 12000, (R, U)) * (rng.random((R, U)) < 0.9)
    if odd:
        s.momentum[rng.random((R, U)) < 0.05] = np.inf
        cc.elev[rng.random(C) < 0.05] = np.nan
    eff = men * rng.uniform(0.3, 1.0, (R, U))
    guns = rng.uniform(0, 200, (R, U))
    tanks = rng.uniform(0, 100, (R, U)) * (rng.random((R, U)) < 0.3)
    Af, att_men = kernels.attack_split(contact, attacking, men, eff)
    rr, dd = np.nonzero(att_men > 0)
    with np.errstate(invalid="ignore"):  # 0 * inf in the odd inputs
        want = combat.engagement_inputs_reference(cc, s, Af, attacking, contact, eff, guns, tanks, rr, dd)
    got = combat.engagement_inputs(cc, s, Af, attacking, contact, eff, guns, tanks, rr, dd)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


def test_sums_in_numpys_order() -> None:
    """kernels._row_sum gives `.sum()`'s bits at every length (NumPy's pairwise order, blocks and
    halves); row_matmul gives the in-order sum of each row."""
    rng = np.random.default_rng(7)
    for n in [*range(0, 40), 127, 128, 129, 200, 300, 1000]:
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
        assert kernels._row_sum(x) == x.sum(), n
    assert kernels._row_sum(np.full(9, -0.0)) == np.full(9, -0.0).sum()
    for R, U, S in [(1, 1, 1), (5, 29, 2), (300, 68, 24)]:
        x = rng.standard_normal((R, U))
        m = rng.standard_normal((U, S))
        want = np.zeros((R, S))
        for u in range(U):
            want = want + x[:, u, None] * m[u][None, :]
        np.testing.assert_array_equal(kernels.row_matmul(x, m), want)
        b = x > 0
        want_b = np.zeros((R, S))
        for u in range(U):
            want_b = want_b + b[:, u, None].astype(float) * m[u][None, :]
        np.testing.assert_array_equal(kernels.row_matmul(b, m), want_b)


def test_compiled_maps_touch_both_ways() -> None:
    """kernels.local_power and kernels.contact_matrix look at each pair of units once: they need
    touching to be mutual (each cell its own neighbour, and b next to a when a is next to b)."""
    for name in ("west-hunan-1945", "ardennes-1944"):
        c = compile_scenario(load_scenario(name))
        assert (c.nbr_self[:, 0] == np.arange(c.nbr_self.shape[0])).all()
        rows = np.repeat(np.arange(c.nbr_self.shape[0]), c.nbr_self.shape[1])
        cols = c.nbr_self.ravel()
        ok = cols >= 0
        pairs = set(zip(rows[ok].tolist(), cols[ok].tolist()))
        assert all((b, a) in pairs for a, b in pairs), name
        if c.adj is not None:
            assert (c.adj == c.adj.T).all() and c.adj.diagonal().all()


@settings(max_examples=40, deadline=None)
@cases
def test_step_toward_cells_kernel_is_the_reference(seed: int, R: int, U: int) -> None:
    from xuefeng.engine import movement

    c = compiled()
    rng = np.random.default_rng(seed)
    cell = random_cells(rng, c, (R, U), 20)
    target = np.where(rng.random((R, U)) < 0.6, random_cells(rng, c, (R, U), 20), -1)
    target[rng.random((R, U)) < 0.1] = cell[0, 0]  # some already there
    mode = rng.integers(0, c.edge_hours.shape[1], U)
    mp = rng.uniform(0, 40, (R, U))
    rain = rng.random(R) < 0.5
    edge_ok = c.edge_ok & (rng.random(c.edge_ok.shape) < 0.9)
    ekm = rng.uniform(3, 9, c.edge_ok.shape)
    args = (c.nbr, edge_ok, c.x_km, c.y_km, c.edge_hours, ekm, mode, target, cell, mp, rain, 8)
    # three bridges on random edges, some down in some replications
    bridge_at = np.where(rng.random(c.edge_ok.shape) < 0.05, rng.integers(0, 3, c.edge_ok.shape), -1)
    blown = rng.random((R, 3)) < 0.5
    down = rng.uniform(5, 30, (c.edge_hours.shape[0], c.edge_hours.shape[1], 3))
    want = movement.step_toward_cells(*args, (bridge_at, blown, down))
    got = kernels.step_toward_cells(*args, bridge_at, blown, down)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@settings(max_examples=40, deadline=None)
@cases
def test_line_share_kernel_is_the_reference(seed: int, R: int, U: int) -> None:
    """kernels.line_share gives supply.line_share_reference's share exactly, on the West Hunan
    map's depot routes with random loads (some cells over their roads' capacity)."""
    from xuefeng.engine import supply

    c = compiled()
    rng = np.random.default_rng(seed)
    S = c.n_sides
    cell = random_cells(rng, c, (R, U), 20)
    side = rng.integers(0, S, U)
    depot = rng.integers(0, c.depot_next.shape[0], (R, U))
    load = np.where(rng.random((R, S, c.n_cells)) < 0.3, rng.uniform(0, 4000, (R, S, c.n_cells)), 0.0)
    want = supply.line_share_reference(c.depot_next, c.road_capacity, load, cell, side, depot)
    got = kernels.line_share(c.depot_next, c.road_capacity, load, cell, side, depot)
    np.testing.assert_array_equal(got, want)
    assert (want <= 1).all() and (want > 0).all() and (want < 1).any()

"""Combat: the engagement model applied where opposing units touch (DESIGN.md §2).

Contact: opposing units present in the same or adjacent cells — an (R,U,U)
mask. Every unit in posture *attack* engages, with all its men, its primary
target: the contacted enemy lowest on its own cost-to-go field, the one barring
its way. An attacker concentrates on its main effort; the other enemies it
touches are in contact (zones of control, close air support, their own
attacks) but not in its engagement, for a battle of CDB90 is one force attacking
another, and an attacker split over every enemy it touched fought as many
weaker battles at once, each with the losses of a battle's first hours. All
attackers on one defender form one engagement. Per engagement the attackers' men, guns and tanks are summed and passed,
with the defender's, to the engagement model.

An engagement is an ongoing process (xuefeng.engagement.ongoing): it has run
`s.eng_hours` hours; each step it ends with probability 1 - exp(-dt/T) (T: the
mean duration of CDB90's battles of the campaign's era and of the engagement's
size, from the model's fit: larger battles last longer),
and when it ends the attacker has won with the model's P(win), else the attack
is repulsed; each side loses C(h + dt) - C(h), C the model's casualties for a
battle of h hours. So a battle of D hours gives the battle-level model's
winner and losses whatever the step length. A defender attacked again within
`battle_gap_hours` of its last engagement (a winner following it, an attacker
repulsed and coming again) fights on in the same battle: h runs on from where
it was, for the fitted C is steepest in a battle's first hours. Only a decided engagement has a
winner and a loser (morale, momentum, retreat); an undecided fight costs only
its losses. Inputs:

* posture: the defender's posture (hasty defence until it has held its cell
  `dig_in_hours`, then prepared; fortified after `fortify_hours` if its plan
  says fortified; delay; withdrawal — a unit retreating under pursuit);
* terrain: the defender's cell's terrain class;
* artillery: guns + `mortar_weight` * mortars, scaled by strength left and
  ammunition (the level of supply the unit lives on, supply.py `fed`);
* air_superiority: attacker's air presence minus the defender's, each the
  day's (air.py);
* surprise: +`envelop_surprise` when attackers come from two or more cells,
  -`ambush_surprise` when the defender holds hills/mountains at least
  `ambush_elevation_m` above the attackers (ambush from high ground);
* advantages: `advantage_scale * ln(q_att/q_def)` per CDB90 factor from the
  scenario's Quality (intelligence x the liaison system), the morale and
  logistics codes shifted by the two sides' morale and supply states, and
  momentum from recent decided results — each held within the codes' range in
  CDB90 (`advantage_limit`).

Men are scaled by fatigue and supply. A winning attacker steps into its
target's cell and the defender falls back the distance a winning attacker of
the era advanced in CDB90 (a draw from those battles' KMDA), cell by cell away
from its attackers and toward its depots. Close air support adds casualties to enemy units in
contact in proportion to the sorties flown (doubled for a side with a liaison
system). Casualties split into killed / wounded / missing / captured by the
fractions below (more missing and captured for a beaten or routed unit). A
unit below its breakpoint strength or whose morale breaks routs (withdraws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from xuefeng.engagement import ongoing
from xuefeng.engine import kernels
from xuefeng.engine.postures import ATTACK, DELAY, FORTIFIED, WITHDRAWAL
from xuefeng.engine.state import mm


@dataclass(frozen=True)
class CombatParams:
    intensity: float = 1.0
    """Multiplier on the model's casualties for continuous contact (assumption: 1 = as fitted)."""
    front_km_per_defender: float = 12.0
    """Frontage of a division-sized defender in contact, km (assumption; seed: the 74th
    Corps held ~80 km with three divisions and reserves, ~25 km each, of which about half
    is under attack at any time)."""
    mortar_weight: float = 0.3
    """A mortar counted as this fraction of an artillery piece (assumption: shorter range,
    lighter shell; the seed stresses mortar fire on attackers below)."""
    dig_in_hours: float = 24.0
    """Hours a defender must hold a cell before its posture counts as prepared (assumption: a day to dig in)."""
    fortify_hours: float = 96.0
    """Hours before a prepared position counts as fortified, where the plan says fortified (assumption: four days)."""
    ambush_elevation_m: float = 150.0
    """Height advantage (m) of a defender in hills/mountains that gives an ambush from high ground (assumption)."""
    ambush_surprise: float = 0.5
    """Surprise (attacker's view, -1..1) lost to an ambush from high ground (assumption; seed:
    'mountainous terrain was ideal for ambushes and mortar bombardment on approaching Japanese')."""
    envelop_surprise: float = 0.3
    """Surprise gained by attackers converging from two or more cells (assumption: envelopment)."""
    advantage_scale: float = 1.5
    """Maps ln(quality ratio) of the scenario's Quality to the CDB90 advantage codes: a 2:1
    quality ratio -> ~1 (assumption)."""
    advantage_limit: float = 2.0
    """Largest advantage code (either sign) the engine passes to the engagement model: the
    range of CDB90's codes for every factor but initiative (source: CDB90, -2..2 read from the data), so the
    model is never asked outside what it was fitted on."""
    morale_code: float = 1.0
    """Advantage code (morale factor) per unit of morale difference (attacker's morale state
    minus the defender's, each 0..1) (assumption: a broken-spirited force against a fresh one
    is one CDB90 morale grade worse)."""
    logistics_code: float = 1.0
    """Advantage code (logistics factor) per unit of difference in the level of supply the two
    sides live on (supply.py `fed`, 0..1) (assumption: a starving force is one grade worse)."""
    liaison_intelligence: float = 1.3
    """Intelligence quality multiplier of a side with a liaison/advisory system (assumption)."""
    fatigue_penalty: float = 0.3
    """Effective men lost at full fatigue (assumption)."""
    supply_floor: float = 0.5
    """Effective men of a unit with no supply, as a fraction (assumption: hungry troops still fight, badly)."""
    ammo_floor: float = 0.2
    """Artillery effect with no supply (no shells), fraction (assumption)."""
    fuel_floor: float = 0.2
    """Tanks that still fight with no supply (no fuel: dug in as pillboxes), fraction (assumption)."""
    casualty_sigma: float = 0.35
    """Log-normal spread of a step's casualties around their expectation (mean-preserving)
    (assumption)."""
    max_loss_fraction_per_day: float = 0.5
    """Most a unit can lose in 24 h, fraction of its men (physical bound, not a calibration);
    a step of dt hours allows 1 - (1 - f)^(dt/24)."""
    killed_fraction: float = 0.36
    """Share of battle casualties killed (seed: Chinese 7,817 of 21,040 = 37%; 20th Army medical
    department 1,720 of 4,411 killed or wounded = 39%)."""
    missing_fraction: float = 0.02
    """Share missing in an engagement the unit did not lose (seed: Chinese 380 of 21,040 = 1.8%)."""
    beaten_missing_fraction: float = 0.08
    """Share missing for a beaten (retreating) unit (assumption: stragglers of a forced retreat)."""
    captured_fraction: float = 0.01
    """Share captured for a beaten unit, times the side's capture factor (assumption; seed: 180 Japanese captured)."""
    routed_extra_missing: float = 0.1
    """Extra share missing/captured for a routed unit (assumption)."""
    breakpoint_fraction: float = 0.5
    """A unit below this fraction of its full strength breaks and withdraws (assumption; classic 40-50% loss breakpoints)."""
    morale_break: float = 0.2
    """A unit whose morale falls below this breaks (assumption)."""
    morale_loss_per_casualty_fraction: float = 1.0
    """Morale lost per fraction of strength lost (assumption: losing 10% costs 0.1)."""
    morale_defeat: float = 0.05
    """Morale lost by the loser of a decided engagement: a defender driven from its ground, an
    attacker whose attack was repulsed (assumption). An undecided fight costs no morale beyond
    its losses."""
    morale_victory: float = 0.02
    """Morale gained by the winner of a decided engagement (assumption)."""
    momentum_gain: float = 0.25
    """Momentum (-1..1) gained per decided win and lost per decided defeat (assumption)."""
    momentum_keep_per_day: float = 0.66
    """Share of momentum kept after 24 h (assumption: momentum halves in about 40 h)."""
    combat_fatigue_per_day: float = 0.16
    """Fatigue added per 24 h of combat (assumption: a week of fighting exhausts a division)."""
    max_retreat_cells: int = 8
    """Most cells a beaten defender falls back after one decided engagement (computational bound:
    the CDB90 distances it draws from reach hundreds of km for the great breakthroughs, which a
    campaign's march and pursuit rules should carry out, not one jump)."""
    battle_gap_hours: float = 24.0
    """A defender engaged again within this many hours of its last engagement fights on in the same
    battle: its casualties continue along C(h) of the battle's age instead of starting a fresh
    battle's first hours, whether the last engagement was decided or not. 0: every decided
    engagement and every pause ends the battle (assumption: a day — CDB90 counts its battles'
    durations in days, and an attack renewed within a day on the same position is the same
    battle; with no gap a winner pursuing its beaten enemy, or an attacker repulsed and attacking
    again, paid a fresh battle's first hours every time)."""
    min_men: float = 100.0
    """A unit with fewer men is out of action (cannot fight, move or hold ground) (assumption)."""
    cas_men_per_sortie: float = 0.2
    """Enemy battle casualties per close-support sortie on troops in contact, before the
    liaison multiplier (assumption, a weapon-effect estimate: a fighter-bomber sortie delivers
    about two 250-500 kg bombs and a strafing pass; against troops dug in and dispersed at
    about one man per 1,500 m2 a bomb's lethal area of a few hundred m2 hits ~0.2 men, and
    about half the bombs fall on the position: ~0.2 men per sortie). Casualties grow with
    the sorties flown, without a cap."""


@dataclass
class CombatResult:
    cas: np.ndarray  # (R,U) battle casualties this step
    beaten: np.ndarray  # (R,U) bool: lost an engagement (defender retreated or attacker repulsed)
    engaged: np.ndarray  # (R,U) bool
    won: np.ndarray  # (R,U) bool: won an engagement
    new_cell: np.ndarray  # (R,U)
    cell_cas: np.ndarray  # (R,U) casualties (both sides) of the engagement at each defender, for civilians
    defender: np.ndarray  # (R,U) bool: defender of an engagement this step
    att_won: np.ndarray  # (R,U) bool: engagement at this defender won by the attackers
    decided: np.ndarray  # (R,U) bool: engagement at this defender ended this step (won or repulsed)
    n_engagements: np.ndarray  # (R,)
    contact: np.ndarray | None = None  # (R,a,d) bool: the defender d each attacker a engages (its primary target)
    attacking: np.ndarray | None = None  # (R,U) bool: units attacking this step

    @property
    def attackers_of(self) -> np.ndarray | None:
        """(R,a,d) bool: unit a attacks defender d this step (built when asked: the engine needs
        it only for the engagements it logs)."""
        if self.contact is None or self.attacking is None:
            return None
        return self.contact & self.attacking[:, :, None]


def primary_target_reference(c, s, contact: np.ndarray, men: np.ndarray, ar: np.ndarray,
                             aa: np.ndarray) -> np.ndarray:
    """Primary target of each attacker (replication ar, unit aa), (n,): the contacted enemy
    lowest on the attacker's own cost-to-go field (the one barring its way), ties by weakness.
    The rule in NumPy; the engine runs kernels.primary_target (primary_target)."""
    n_fields, n_cells = c.ctg.shape[1:]
    # one flat gather on the C-contiguous ctg table: ctg[mode[a], field[a], cell[e]] for every unit e
    row = (c.mode[aa] * n_fields + np.maximum(s.field[ar, aa], 0)) * n_cells  # (n,)
    ctg_e = np.take(c.ctg.ravel(), row[:, None] + s.cell[ar])  # (n,U)
    score = np.where(contact[ar, aa], ctg_e + 1e-6 * men[ar], np.inf)
    return np.argmin(score, axis=1)


def primary_target(c, s, contact: np.ndarray, men: np.ndarray, ar: np.ndarray, aa: np.ndarray) -> np.ndarray:
    """primary_target_reference, by its kernel (kernels.primary_target)."""
    n_fields, n_cells = c.ctg.shape[1:]
    row = (c.mode[aa] * n_fields + np.maximum(s.field[ar, aa], 0)) * n_cells  # (n,)
    return kernels.primary_target(c.ctg.reshape(-1), row, ar, aa, contact, s.cell, men)


def defender_posture(posture: np.ndarray, hours_in_cell: np.ndarray, p: CombatParams) -> np.ndarray:
    """Engine posture -> engagement model POSTURES index (hasty, prepared, fortified, delay, withdrawal)."""
    dug = hours_in_cell >= p.dig_in_hours
    fort = hours_in_cell >= p.fortify_hours
    out = np.where(dug, 1, 0)
    out = np.where((posture == FORTIFIED) & fort, 2, out)
    out = np.where((posture == FORTIFIED) & ~dug, 0, out)
    out = np.where(posture == DELAY, 3, out)
    out = np.where(posture == WITHDRAWAL, 4, out)
    out = np.where(posture == ATTACK, 0, out)  # an attacking unit has not dug in
    return out


def state_advantages(p: CombatParams, quality_adv: np.ndarray, morale_att: np.ndarray, morale_def: np.ndarray,
                     fed_att: np.ndarray, fed_def: np.ndarray, momentum: np.ndarray) -> np.ndarray:
    """The eight CDB90 advantage codes of engagements (n,8) in ADVANTAGES order: the scenario's
    quality ratios (n,7, Quality order, already scaled), plus the two sides' morale and supply
    states as bounded shifts of the morale and logistics codes, and momentum; every code held
    within the range the model was fitted on (advantage_limit; momentum -1..1)."""
    lim = p.advantage_limit
    q = np.array(quality_adv, dtype=float)
    q[:, 2] += p.morale_code * (morale_att - morale_def)
    q[:, 3] += p.logistics_code * (fed_att - fed_def)
    q = np.clip(q, -lim, lim)
    mom = np.clip(momentum, -1.0, 1.0)
    return np.concatenate([q[:, :4], mom[:, None], q[:, 4:]], axis=-1)


def step_outcome(pd_: np.ndarray, pw: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(decided, attacker won) of ongoing engagements this step from one uniform each: the
    engagement ends with probability pd_ and, when it ends, the attacker has won with
    probability pw (xuefeng.engagement.ongoing)."""
    won = u < pd_ * pw
    decided = u < pd_
    return decided, won


def opening_surprise(c, s, p: CombatParams, defended: np.ndarray, step_hours: float) -> np.ndarray:
    """(R,U) the defenders caught by the enemy's opening surprise (SideConfig.opening_surprise), in
    place: a unit in its start position since the campaign began, attacked for the first time
    while its side has been under attack for no longer than `battle_gap_hours` (the warning
    has not yet spread), stays surprised for the rest of that first battle (renewed within
    `battle_gap_hours`) and while it holds its start cell. State, not a date: a campaign that
    opens later, or a unit reached later, is not surprised."""
    hit = mm(defended, c.side_onehot) > 0  # (R,S)
    s.side_hit_hours = np.where(s.side_hit_hours >= 0, s.side_hit_hours + step_hours, np.where(hit, 0.0, -1.0))
    fresh = (s.side_hit_hours >= 0) & (s.side_hit_hours <= p.battle_gap_hours)
    home = (s.cell == c.start_cell[None, :]) & (c.arrival_step == 0)[None, :]
    first = defended & ~np.isfinite(s.eng_idle) & home & fresh[:, c.side]
    goes_on = defended | (s.eng_idle + step_hours <= p.battle_gap_hours)
    s.surprised = (s.surprised | first) & home & goes_on
    return s.surprised


def retreat_cells(c, p: CombatParams, cell: np.ndarray, side: np.ndarray, ax: np.ndarray, ay: np.ndarray,
                  n_cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """retreat_cells_reference, by its kernel (kernels.retreat_cells)."""
    return kernels.retreat_cells(c.nbr, c.edge_ok, c.x_km, c.y_km, c.rear_ctg, np.asarray(cell, np.int64),
                                 np.asarray(side, np.int64), np.asarray(ax, np.float64),
                                 np.asarray(ay, np.float64), np.asarray(n_cells, np.int64))


def retreat_cells_reference(c, p: CombatParams, cell: np.ndarray, side: np.ndarray, ax: np.ndarray,
                            ay: np.ndarray, n_cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where beaten defenders end up, `n_cells` steps each from `cell`, and the cell of their
    path just before it (where a winning attacker that followed them stands). A beaten unit falls back
    along its line of communication: each step goes to the passable neighbour nearest the
    side's depots (rear_ctg) among those no nearer its attackers' mean position (ax, ay); where
    none is (or the side has no depots), to the neighbour furthest from the attackers. A unit
    with no way back stays. (Falling back 'away from the attackers' alone sent units beaten by a
    flank attack deeper into enemy country.) The rule in NumPy; the engine runs its kernel
    (retreat_cells)."""
    cur = cell.copy()
    prev = cell.copy()
    for k in range(int(n_cells.max()) if n_cells.size else 0):
        go = n_cells > k
        if not go.any():
            break
        cc = cur[go]
        prev[go] = cc
        nbc = c.nbr[cc]  # (n,6)
        away = np.hypot(c.x_km[nbc] - ax[go, None], c.y_km[nbc] - ay[go, None])
        here = np.hypot(c.x_km[cc] - ax[go], c.y_km[cc] - ay[go])
        rear_n = c.rear_ctg[side[go, None], nbc]
        rear_here = c.rear_ctg[side[go], cc]
        ok = c.edge_ok[cc]
        back = ok & (away >= here[:, None] - 1e-9) & (rear_n < rear_here[:, None])
        # toward the rear where a way back is open (ties: further from the attackers), else away
        score = np.where(back.any(-1, keepdims=True),
                         np.where(back, -rear_n + 1e-6 * away, -np.inf),
                         np.where(ok, away, -np.inf))
        rear = np.take_along_axis(nbc, np.argmax(score, axis=-1)[..., None], axis=-1)[..., 0]
        cur[go] = np.where(np.isfinite(score.max(-1)), rear, cc)
    return cur, prev


def engagement_inputs_reference(c, s, Af: np.ndarray, attacking: np.ndarray, contact: np.ndarray, eff: np.ndarray,
                                guns: np.ndarray, tanks: np.ndarray, rr: np.ndarray, dd: np.ndarray) -> tuple:
    """The attackers' side of each engagement (replication rr[i], defender dd[i]), each attacker
    counted by its share of men against this defender (Af (R,a,d)): guns and tanks (n,); log
    quality (n,7) and each side's share (n,S) weighted by effective men (eff); the weighted sums
    of momentum, morale and supply level (fed) (n,); whether they attack from two or more cells
    (n,) bool, and their mean elevation (n,). The rule in NumPy; the engine runs its kernel
    (engagement_inputs)."""
    R, U = s.cell.shape
    W = Af[rr, :, dd]  # (n,a) share of each attacker's men against this defender
    Wb = attacking[rr] & contact[rr, :, dd]  # (n,a) bool
    att_guns = (W * guns[rr]).sum(1)
    att_tanks = (W * tanks[rr]).sum(1)
    we = W * eff[rr]  # (n,a)
    lq_sum, by_side = kernels.attacker_means(rr, we, np.broadcast_to(c.log_quality[None], (R, U, 7)), c.side,
                                             c.n_sides)
    mom_sum = (we * s.momentum[rr]).sum(1)
    morale_sum = (we * s.morale[rr]).sum(1)
    fed_sum = (we * s.fed[rr]).sum(1)
    cells_n = s.cell[rr]  # (n,a)
    cmax = np.where(Wb, cells_n, -1).max(1)
    cmin = np.where(Wb, cells_n, np.iinfo(np.int64).max).min(1)
    envelop = cmax != cmin
    elev_a = (Wb * c.elev[cells_n]).sum(1) / np.maximum(Wb.sum(1), 1)
    return att_guns, att_tanks, lq_sum, by_side, mom_sum, morale_sum, fed_sum, envelop, elev_a


def engagement_inputs(c, s, Af: np.ndarray, attacking: np.ndarray, contact: np.ndarray, eff: np.ndarray,
                      guns: np.ndarray, tanks: np.ndarray, rr: np.ndarray, dd: np.ndarray) -> tuple:
    """engagement_inputs_reference, by its kernel (kernels.engagement_inputs)."""
    return kernels.engagement_inputs(rr, dd, Af, attacking, contact, eff, guns, tanks, s.momentum, s.morale, s.fed,
                                     s.cell, c.elev, np.ascontiguousarray(c.log_quality, dtype=np.float64), c.side,
                                     c.n_sides)


def resolve(c, s, p: CombatParams, model, air_presence: np.ndarray, cas_sorties: np.ndarray,
            alive: np.ndarray, u: np.ndarray, step_hours: float, duration_law: tuple[float, float],
            advance_q: list[float] | np.ndarray = (), extra: dict | None = None,
            advance_size_exponent: float = 0.0) -> CombatResult:
    """Resolve this step's engagements for all replications; updates s.eng_hours.
    duration_law: (mean hours to decision of an engagement of 10^4 men, size exponent);
    advance_q: quantiles of the km a winning attacker advances in an engagement of 10^4 men,
    advance_size_exponent: how that grows with the engagement's men (all from the engagement
    model's fit; no quantiles: one cell).

    c: compiled scenario; s: state; air_presence (R,S) 0..1 (the day's); cas_sorties (R,S)
    close-support sorties flown this step; alive (R,U) units that can fight; u (R,U,5) uniforms
    (outcome draw, attacker casualty noise, defender casualty noise, CAS noise, retreat distance).
    """
    R, U = s.cell.shape
    extra = extra or {}
    r_idx = np.arange(R)[:, None]
    men = s.men()
    contact, touching = kernels.contact_matrix(*kernels.adjacency_args(c), s.cell, alive, c.enemy)
    attacking = (s.posture == ATTACK) & touching
    # an attacker engages its primary target (the enemy barring its way) with all its men
    ar, aa = np.nonzero(attacking)
    tgt = primary_target(c, s, contact, men, ar, aa)
    aims = np.zeros_like(contact)  # (R,a,d): attacker a engages defender d
    aims[ar, aa, tgt] = True
    frac = men / c.men0[None, :]
    fed = s.fed
    eff = men * (1.0 - p.fatigue_penalty * s.fatigue) * (p.supply_floor + (1 - p.supply_floor) * fed)
    ammo = p.ammo_floor + (1 - p.ammo_floor) * fed
    guns = (c.guns0[None, :] + p.mortar_weight * c.mortars0[None, :]) * np.minimum(frac, 1.0) * ammo
    fuelled = s.fuel_ok if c.fuel_modelled else fed  # fuel.py where the scenario models fuel
    tanks = c.tanks0[None, :] * np.minimum(frac, 1.0) * (p.fuel_floor + (1 - p.fuel_floor) * fuelled)
    # Af (R,a,d): share of attacker a's men against defender d (1 on its primary target)
    Af, att_men = kernels.attack_split(aims, attacking, men, eff)
    defended = att_men > 0  # (R,d): an engagement at this defender
    n_eng = defended.sum(1)
    cas = np.zeros((R, U))
    beaten = np.zeros((R, U), bool)
    won = np.zeros((R, U), bool)
    new_cell = s.cell.copy()
    cell_cas = np.zeros((R, U))
    att_won = np.zeros((R, U), bool)
    decided_d = np.zeros((R, U), bool)
    engaged = attacking | defended
    # the battle's age at each defender: an engagement nobody presses is over, unless it is
    # pressed again within battle_gap_hours (the same battle goes on)
    hours = np.where(defended & (s.eng_idle <= p.battle_gap_hours), s.eng_hours, 0.0)
    surprised = opening_surprise(c, s, p, defended, step_hours) if c.side_surprise.any() else None
    if defended.any():
        # work on the engagements only: n = (replication, defender) pairs
        rr, dd = np.nonzero(defended)
        am = att_men[rr, dd]
        # the attackers' guns and tanks, their quality, momentum, morale and supply weighted by
        # effective men, their sides, whether they come from two or more cells, their elevation
        (att_guns, att_tanks, lq_sum, by_side, mom_sum, morale_sum, fed_sum, envelop,
         elev_a) = engagement_inputs(c, s, Af, attacking, aims, eff, guns, tanks, rr, dd)
        # scenario quality (U,7) in Quality order, fixed for the campaign
        lq_u = c.log_quality
        wsum = np.maximum(am, 1e-9)
        att_lq = lq_sum / wsum[:, None]
        att_mom = mom_sum / wsum
        att_morale = morale_sum / wsum
        att_fed = fed_sum / wsum
        adv = state_advantages(p, p.advantage_scale * (att_lq - lq_u[dd]), att_morale, s.morale[rr, dd],
                               att_fed, fed[rr, dd], att_mom - s.momentum[rr, dd])
        # attacker side per engagement (the side with most attacking men)
        att_side = np.argmax(by_side, axis=1)
        air = air_presence[rr, att_side] - air_presence[rr, c.side[dd]]
        # surprise: envelopment (attackers from >= 2 distinct cells) and ambush from high ground
        dcell = s.cell[rr, dd]
        ambush = c.high_ground[c.terrain[dcell]] & (c.elev[dcell] - elev_a >= p.ambush_elevation_m)
        surprise = np.where(envelop, p.envelop_surprise, 0.0) - np.where(ambush, p.ambush_surprise, 0.0)
        if surprised is not None:  # the opening's surprise (opening_surprise)
            surprise = surprise + np.where(surprised[rr, dd], c.side_surprise[att_side], 0.0)
        surprise = np.clip(surprise, -1, 1)
        dpost = defender_posture(s.posture[rr, dd], s.steps_in_cell[rr, dd] * step_hours, p)
        h0 = hours[rr, dd]
        pw, ca, cd = ongoing.casualty_increment(
            model, h0, step_hours,
            am, eff[rr, dd], att_guns, guns[rr, dd], att_tanks, tanks[rr, dd],
            air, surprise, dpost, c.terrain_eng[dcell],
            np.full(rr.shape, p.front_km_per_defender), adv,
            **{k: (v[rr] if isinstance(v, np.ndarray) else v) for k, v in extra.items()})
        pw = np.nan_to_num(np.asarray(pw, float))
        ca = np.nan_to_num(np.asarray(ca, float)) * p.intensity
        cd = np.nan_to_num(np.asarray(cd, float)) * p.intensity
        # mean-one log-normal noise: expected losses do not depend on the step length
        half = 0.5 * p.casualty_sigma ** 2
        na = np.exp(p.casualty_sigma * ndtri(np.clip(u[rr, dd, 1], 1e-6, 1 - 1e-6)) - half)
        nd = np.exp(p.casualty_sigma * ndtri(np.clip(u[rr, dd, 2], 1e-6, 1 - 1e-6)) - half)
        pdec = ongoing.decision_probability(step_hours, ongoing.decision_hours(duration_law, am + eff[rr, dd]))
        dec, win = step_outcome(pdec, pw, u[rr, dd, 0])
        cas_att_d = np.zeros((R, U)); cas_att_d[rr, dd] = np.maximum(ca, 0) * na
        cas_def_d = np.zeros((R, U)); cas_def_d[rr, dd] = np.maximum(cd, 0) * nd
        att_won[rr, dd] = win
        decided_d[rr, dd] = dec
        eng_men = np.zeros((R, U)); eng_men[rr, dd] = am + eff[rr, dd]
        repulsed = decided_d & ~att_won
        hours[rr, dd] = np.where(dec & (p.battle_gap_hours <= 0), 0.0, h0 + step_hours)
        # attacker casualties shared by effective men; who took part in a won or repulsed
        # engagement; where each defender's attackers stand (mean position)
        cas_att, att_in_won, att_in_lost, ax, ay = kernels.engagement_outcomes(
            aims, attacking, Af, eff, att_men, cas_att_d, att_won, repulsed, c.x_km[s.cell], c.y_km[s.cell])
        cas += cas_att
        cas += cas_def_d
        cell_cas = cas_att_d + cas_def_d
        # outcomes of the decided engagements only: an undecided fight has no winner
        won |= att_in_won | repulsed
        beaten |= att_won | (att_in_lost & ~att_in_won)
        # a beaten defender falls back the distance drawn from CDB90's advances of winning
        # attackers, cell by cell away from its attackers and toward its rear (depots)
        br, bd = np.nonzero(att_won)
        km = ongoing.advance_km(advance_q, u[br, bd, 4], eng_men[br, bd], advance_size_exponent) \
            if len(advance_q) else np.full(br.shape, c.cell_km)
        n_cells = np.clip(np.rint(km / c.cell_km), 1, p.max_retreat_cells).astype(np.int64)
        follow = s.cell.copy()  # (R,U): where the winners of the engagement at each defender end up
        new_cell[br, bd], follow[br, bd] = retreat_cells(c, p, s.cell[br, bd], c.side[bd], ax[br, bd], ay[br, bd],
                                                         n_cells)
        # winning attackers advance as far as their primary target falls back (CDB90's advance is
        # the winner's), to the last cell of its path before where it stops
        adv_ok = att_won[ar, tgt]
        new_cell[ar[adv_ok], aa[adv_ok]] = follow[ar[adv_ok], tgt[adv_ok]]
    # a battle paused for no longer than battle_gap_hours keeps its age
    paused = ~defended & (s.eng_idle + step_hours <= p.battle_gap_hours)
    s.eng_hours = np.where(paused, s.eng_hours, hours)
    s.eng_idle = np.where(defended, 0.0, s.eng_idle + step_hours)
    # close air support on enemy units in contact, in proportion to their men and to the
    # sorties flown (no cap: a larger air force hits more); liaison multiplies its effect
    if cas_sorties.any():
        exposed = touching & alive
        w = np.where(exposed, men, 0.0)
        tot = np.einsum("ru,us->rs", w, c.side_onehot)  # men in contact per side
        # sorties of the enemies of each unit's side: for 2+ sides, all enemy sorties count
        enemy_cas = np.einsum("rs,ts->rt", cas_sorties * np.where(c.side_liaison, c.cas_liaison_mult, 1.0)[None, :],
                              c.enemy_side_matrix)  # effective sorties against each side's units
        share = w / np.maximum(tot[r_idx, c.side[None, :]], 1.0)
        sorties_u = enemy_cas[r_idx, c.side[None, :]] * share
        noise = 0.5 + u[..., 3]
        cas += sorties_u * p.cas_men_per_sortie * noise * (1.0 - 0.5 * air_presence[r_idx, c.side[None, :]])
    cap = 1.0 - (1.0 - p.max_loss_fraction_per_day) ** (step_hours / 24.0)
    cas = np.minimum(cas, cap * men)
    return CombatResult(cas=cas, beaten=beaten, engaged=engaged | (touching & alive & (cas > 0)), won=won,
                        new_cell=new_cell, cell_cas=cell_cas, defender=defended, att_won=att_won,
                        decided=decided_d, n_engagements=n_eng,
                        contact=aims, attacking=attacking)

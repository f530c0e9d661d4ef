"""Combat: the engagement model applied where opposing units touch (DESIGN.md §2).

Contact: opposing units present in the same or adjacent cells — an (R,U,U)
mask. Every unit in posture *attack* engages every enemy it touches, splitting
its men in proportion to theirs (a broad front); all attackers on one defender
form one engagement, and each attacker advances toward its primary target
(the contacted enemy lowest on its own cost-to-go field, the one barring its
way). Per engagement the attackers' men, guns and tanks are summed and passed,
with the defender's, to `EngagementModel.predict_batch` for an engagement of
`reference_duration_hours`; each step takes step_hours/reference of its
casualties and of its chance to be decided (continuous contact as a chain of
day-long engagements: the fitted casualties grow sublinearly with duration).
Inputs:

* posture: the defender's posture (hasty defence until it has held its cell
  `dig_in_steps`, then prepared; fortified after `fortify_steps` if its plan
  says fortified; delay; withdrawal — a unit retreating under pursuit);
* terrain: the defender's cell's terrain class;
* artillery: guns + `mortar_weight` * mortars, scaled by strength left and
  ammunition (supply);
* air_superiority: attacker's air presence minus the defender's (from `air`);
* surprise: +`envelop_surprise` when attackers come from two or more cells,
  -`ambush_surprise` when the defender holds hills/mountains at least
  `ambush_elevation_m` above the attackers (ambush from high ground);
* advantages: `advantage_scale * ln(q_att/q_def)` per CDB90 factor from the
  scenario's Quality, with morale x morale state, logistics x supply state,
  intelligence x the liaison system, momentum from recent results.

Men are scaled by fatigue and supply. Casualties are the model's median times
a log-normal draw (`casualty_sigma`); the attacker wins if a uniform draw falls
below the step's share of p_win: the defender then retreats one cell, away from
its attackers and toward its depots, and the winning attackers step into its
cell. Close air support adds casualties to enemy units in contact (at most
`cas_max_sorties_per_unit` sorties each; doubled for a side with a liaison system). Casualties split
into killed / wounded / missing / captured by the fractions below (more
missing and captured for a beaten or routed unit). A unit below its
breakpoint strength or whose morale breaks routs (withdraws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from xuefeng.engine import kernels
from xuefeng.engine.postures import ATTACK, DELAY, FORTIFIED, WITHDRAWAL


@dataclass(frozen=True)
class CombatParams:
    reference_duration_hours: float = 24.0
    """Continuous contact is treated as a chain of engagements of this length: the model is
    asked for one such engagement and each step gets step_hours/reference of its casualties
    and of its chance to be decided (the fitted casualties grow sublinearly with duration, so
    asking for 6-hour battles would overcount a campaign's losses fourfold; assumption: a
    day's fighting is the unit of a CDB90-like engagement in a continuous campaign)."""
    intensity: float = 1.0
    """Multiplier on the model's casualty rate for continuous contact (assumption: 1 = as fitted)."""
    front_km_per_defender: float = 12.0
    """Frontage of a division-sized defender in contact, km (assumption; seed: the 74th
    Corps held ~80 km with three divisions and reserves, ~25 km each, of which about half
    is under attack at any time)."""
    mortar_weight: float = 0.3
    """A mortar counted as this fraction of an artillery piece (assumption: shorter range,
    lighter shell; the seed stresses mortar fire on attackers below)."""
    dig_in_steps: int = 4
    """Steps (6 h) a defender must hold a cell before its posture counts as prepared (assumption: a day to dig in)."""
    fortify_steps: int = 16
    """Steps before a prepared position counts as fortified, where the plan says fortified (assumption: four days)."""
    ambush_elevation_m: float = 150.0
    """Height advantage (m) of a defender in hills/mountains that gives an ambush from high ground (assumption)."""
    ambush_surprise: float = 0.5
    """Surprise (attacker's view, -1..1) lost to an ambush from high ground (assumption; seed:
    'mountainous terrain was ideal for ambushes and mortar bombardment on approaching Japanese')."""
    envelop_surprise: float = 0.3
    """Surprise gained by attackers converging from two or more cells (assumption: envelopment)."""
    advantage_scale: float = 1.5
    """Maps ln(quality ratio) to the CDB90 advantage codes (-4..4; most battles -1..1): a 2:1
    quality ratio -> ~1 (assumption)."""
    liaison_intelligence: float = 1.3
    """Intelligence quality multiplier of a side with a liaison/advisory system (assumption)."""
    fatigue_penalty: float = 0.3
    """Effective men lost at full fatigue (assumption)."""
    supply_floor: float = 0.5
    """Effective men of a unit with no supply, as a fraction (assumption: hungry troops still fight, badly)."""
    ammo_floor: float = 0.2
    """Artillery effect with no supply (no shells), fraction (assumption)."""
    casualty_sigma: float = 0.35
    """Log-normal spread of casualties around the model's expectation (assumption)."""
    max_loss_fraction: float = 0.5
    """Most a unit can lose in one step, fraction of its men (physical bound, not a calibration)."""
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
    """Morale lost per fraction of strength lost in a step (assumption: losing 10% costs 0.1)."""
    morale_defeat: float = 0.05
    """Morale lost by the loser of an engagement (assumption)."""
    morale_victory: float = 0.02
    """Morale gained by the winner (assumption)."""
    momentum_gain: float = 0.25
    """Momentum (-1..1) gained per win and lost per defeat (assumption)."""
    momentum_decay: float = 0.9
    """Momentum kept from one step to the next (assumption)."""
    combat_fatigue: float = 0.04
    """Fatigue added per step of combat (assumption)."""
    retreat_rear_weight: float = 0.05
    """km of distance from the attackers traded per foot-hour nearer the side's depots when a
    beaten defender picks the cell to fall back to (assumption: fall back away from the enemy,
    toward one's supplies)."""
    cas_max_sorties_per_unit: float = 12.0
    """Most close-support sorties (liaison-weighted) that can usefully attack one division-sized
    unit in a 6-hour step; the rest find no target (assumption: a squadron's worth over one
    division's sector in mountain country)."""
    min_men: float = 100.0
    """A unit with fewer men is out of action (cannot fight, move or hold ground) (assumption)."""
    cas_men_per_sortie: float = 0.5
    """Enemy battle casualties per close-support sortie on troops in contact, before the
    liaison multiplier (assumption, tuned: strafing, bombs and napalm on dispersed infantry
    under cover in mountains; the Japanese records in the seed count only 1,876-4,411 battle
    casualties in all, so air attack cannot have hit many — half a man per sortie, one with
    a liaison team calling the strike)."""




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
    n_engagements: np.ndarray  # (R,)


def primary_target(c, s, contact: np.ndarray, men: np.ndarray, ar: np.ndarray, aa: np.ndarray) -> np.ndarray:
    """Primary target of each attacker (replication ar, unit aa), (n,): the contacted enemy
    lowest on the attacker's own cost-to-go field (the one barring its way), ties by weakness."""
    n_fields, n_cells = c.ctg.shape[1:]
    # one flat gather on the C-contiguous ctg table: ctg[mode[a], field[a], cell[e]] for every unit e
    row = (c.mode[aa] * n_fields + np.maximum(s.field[ar, aa], 0)) * n_cells  # (n,)
    ctg_e = np.take(c.ctg.ravel(), row[:, None] + s.cell[ar])  # (n,U)
    score = np.where(contact[ar, aa], ctg_e + 1e-6 * men[ar], np.inf)
    return np.argmin(score, axis=1)


def defender_posture(posture: np.ndarray, steps_in_cell: np.ndarray, p: CombatParams) -> np.ndarray:
    """Engine posture -> engagement model POSTURES index (hasty, prepared, fortified, delay, withdrawal)."""
    dug = steps_in_cell >= p.dig_in_steps
    fort = steps_in_cell >= p.fortify_steps
    out = np.where(dug, 1, 0)
    out = np.where((posture == FORTIFIED) & fort, 2, out)
    out = np.where((posture == FORTIFIED) & ~dug, 0, out)
    out = np.where(posture == DELAY, 3, out)
    out = np.where(posture == WITHDRAWAL, 4, out)
    out = np.where(posture == ATTACK, 0, out)  # an attacking unit has not dug in
    return out


def resolve(c, s, p: CombatParams, model, air_presence: np.ndarray, cas_sorties: np.ndarray,
            alive: np.ndarray, u: np.ndarray, step_hours: float, extra: dict | None = None) -> CombatResult:
    """Resolve this step's engagements for all replications.

    c: compiled scenario; s: state; air_presence (R,S) 0..1; cas_sorties (R,S) close-support
    sorties flown; alive (R,U) units that can fight; u (R,U,4) uniforms (win draw, attacker
    casualty noise, defender casualty noise, CAS noise).
    """
    R, U = s.cell.shape
    extra = extra or {}
    r_idx = np.arange(R)[:, None]
    men = s.men()
    contact, touching = kernels.contact_matrix(*kernels.adjacency_args(c), s.cell, alive, c.enemy)
    attacking = (s.posture == ATTACK) & touching
    # an attacker engages every enemy it touches, splitting its men in proportion to theirs
    # (a broad front); it advances toward its primary target (the one barring its way)
    frac = men / c.men0[None, :]
    eff = men * (1.0 - p.fatigue_penalty * s.fatigue) * (p.supply_floor + (1 - p.supply_floor) * s.supply)
    ammo = p.ammo_floor + (1 - p.ammo_floor) * s.supply
    guns = (c.guns0[None, :] + p.mortar_weight * c.mortars0[None, :]) * np.minimum(frac, 1.0) * ammo
    tanks = c.tanks0[None, :] * np.minimum(frac, 1.0)
    # Af (R,a,d): share of attacker a's men against defender d
    Af, att_men = kernels.attack_split(contact, attacking, men, eff)
    defended = att_men > 0  # (R,d): an engagement at this defender
    n_eng = defended.sum(1)
    cas = np.zeros((R, U))
    beaten = np.zeros((R, U), bool)
    won = np.zeros((R, U), bool)
    new_cell = s.cell.copy()
    cell_cas = np.zeros((R, U))
    att_won = np.zeros((R, U), bool)
    engaged = attacking | defended
    if defended.any():
        # work on the engagements only: n = (replication, defender) pairs
        rr, dd = np.nonzero(defended)
        W = Af[rr, :, dd]  # (n,a) share of each attacker's men against this defender
        Wb = attacking[rr] & contact[rr, :, dd]  # (n,a) bool
        eff_n = eff[rr]  # (n,a)
        am = att_men[rr, dd]
        att_guns = (W * guns[rr]).sum(1)
        att_tanks = (W * tanks[rr]).sum(1)
        # quality vectors (U,7) in Quality order x state; attackers weighted by effective men
        q = np.broadcast_to(c.quality[None], (R, U, 7)).copy()
        q[..., 2] *= np.maximum(s.morale, 0.05)
        q[..., 3] *= np.maximum(s.supply, 0.05)
        q[..., 4] *= np.where(c.side_liaison[c.side], p.liaison_intelligence, 1.0)[None, :]
        lq = np.log(q)
        we = W * eff_n  # (n,a)
        lq_sum, by_side = kernels.attacker_means(rr, we, lq, c.side, c.n_sides)
        att_lq = lq_sum / np.maximum(am, 1e-9)[:, None]
        att_mom = (we * s.momentum[rr]).sum(1) / np.maximum(am, 1e-9)
        adv_q = np.clip(p.advantage_scale * (att_lq - lq[rr, dd]), -4.0, 4.0)  # (n,7)
        mom = np.clip(att_mom - s.momentum[rr, dd], -1.0, 1.0)
        # ADVANTAGES order: leadership, training, morale, logistics, momentum, intelligence, technology, initiative
        adv = np.concatenate([adv_q[:, :4], mom[:, None], adv_q[:, 4:]], axis=-1)
        # attacker side per engagement (the side with most attacking men)
        att_side = np.argmax(by_side, axis=1)
        air = air_presence[rr, att_side] - air_presence[rr, c.side[dd]]
        # surprise: envelopment (attackers from >= 2 distinct cells) and ambush from high ground
        cells_n = s.cell[rr]  # (n,a)
        cmax = np.where(Wb, cells_n, -1).max(1)
        cmin = np.where(Wb, cells_n, np.iinfo(np.int64).max).min(1)
        envelop = cmax != cmin
        elev_a = (Wb * c.elev[cells_n]).sum(1) / np.maximum(Wb.sum(1), 1)
        dcell = s.cell[rr, dd]
        ambush = c.high_ground[c.terrain[dcell]] & (c.elev[dcell] - elev_a >= p.ambush_elevation_m)
        surprise = np.clip(np.where(envelop, p.envelop_surprise, 0.0) - np.where(ambush, p.ambush_surprise, 0.0), -1, 1)
        dpost = defender_posture(s.posture[rr, dd], s.steps_in_cell[rr, dd], p)
        pw, ca, cd = model.predict_batch(
            am, eff[rr, dd], att_guns, guns[rr, dd], att_tanks, tanks[rr, dd],
            air, surprise, dpost, c.terrain_eng[dcell],
            np.full(rr.shape, p.reference_duration_hours), np.full(rr.shape, p.front_km_per_defender),
            adv, **{k: (v[rr] if isinstance(v, np.ndarray) else v) for k, v in extra.items()})
        slice_ = step_hours / p.reference_duration_hours
        pw = np.nan_to_num(np.asarray(pw, float)) * slice_
        ca = np.nan_to_num(np.asarray(ca, float)) * slice_ * p.intensity
        cd = np.nan_to_num(np.asarray(cd, float)) * slice_ * p.intensity
        na = np.exp(p.casualty_sigma * ndtri(np.clip(u[rr, dd, 1], 1e-6, 1 - 1e-6)))
        nd = np.exp(p.casualty_sigma * ndtri(np.clip(u[rr, dd, 2], 1e-6, 1 - 1e-6)))
        win = u[rr, dd, 0] < pw
        cas_att_d = np.zeros((R, U)); cas_att_d[rr, dd] = np.maximum(ca, 0) * na
        cas_def_d = np.zeros((R, U)); cas_def_d[rr, dd] = np.maximum(cd, 0) * nd
        att_won[rr, dd] = win
        # attacker casualties shared by effective men; who took part in a won or lost engagement;
        # where each defender's attackers stand (mean position)
        cas_att, att_in_won, att_in_lost, ax, ay = kernels.engagement_outcomes(
            contact, attacking, Af, eff, att_men, cas_att_d, att_won, defended, c.x_km[s.cell], c.y_km[s.cell])
        cas += cas_att
        cas += cas_def_d
        cell_cas = cas_att_d + cas_def_d
        # outcomes
        won |= att_in_won | (defended & ~att_won)
        beaten |= (defended & att_won) | (att_in_lost & ~att_in_won)
        # defender retreats one cell: away from its attackers, toward its rear (depots) where it has one
        # (only the beaten defenders, n of them, need a cell to fall back to)
        br, bd = np.nonzero(defended & att_won)
        bcell = s.cell[br, bd]
        nbc = c.nbr[bcell]  # (n,6)
        away = np.hypot(c.x_km[nbc] - ax[br, bd, None], c.y_km[nbc] - ay[br, bd, None])
        score = away - p.retreat_rear_weight * c.rear_ctg[c.side[bd, None], nbc]
        score = np.where(c.edge_ok[bcell], score, -np.inf)
        rear = np.take_along_axis(nbc, np.argmax(score, axis=-1)[..., None], axis=-1)[..., 0]
        new_cell[br, bd] = np.where(np.isfinite(score.max(-1)), rear, bcell)
        # winning attackers advance into their primary target's cell
        ar, aa = np.nonzero(attacking)
        tgt = primary_target(c, s, contact, men, ar, aa)
        adv_ok = att_won[ar, tgt]
        new_cell[ar[adv_ok], aa[adv_ok]] = s.cell[ar[adv_ok], tgt[adv_ok]]
    # close air support on enemy units in contact (liaison multiplies its effect)
    if cas_sorties.any():
        exposed = touching & alive
        w = np.where(exposed, men, 0.0)
        tot = np.einsum("ru,us->rs", w, c.side_onehot)  # men in contact per side
        # sorties of the enemies of each unit's side: for 2+ sides, all enemy sorties count
        enemy_cas = np.einsum("rs,ts->rt", cas_sorties * np.where(c.side_liaison, c.cas_liaison_mult, 1.0)[None, :],
                              c.enemy_side_matrix)  # effective sorties against each side's units
        share = w / np.maximum(tot[r_idx, c.side[None, :]], 1.0)
        sorties_u = np.minimum(enemy_cas[r_idx, c.side[None, :]] * share, p.cas_max_sorties_per_unit)
        noise = 0.5 + u[..., 3]
        cas += sorties_u * p.cas_men_per_sortie * noise * (1.0 - 0.5 * air_presence[r_idx, c.side[None, :]])
    cas = np.minimum(cas, p.max_loss_fraction * men)
    return CombatResult(cas=cas, beaten=beaten, engaged=engaged | (touching & alive & (cas > 0)), won=won,
                        new_cell=new_cell, cell_cas=cell_cas, defender=defended, att_won=att_won,
                        n_engagements=n_eng)

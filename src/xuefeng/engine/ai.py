"""Side AI: plan phases, triggers and doctrine (DESIGN.md §2).

Each side follows its scenario plan: a phase is issued at its `start` date or
when its trigger fires, whichever comes first, and takes effect after the
command delay (command.py). A unit follows the latest effective phase that
names it: posture, and a route through the phase's axis towns to its
objective (cost-to-go fields). Triggers (the names a scenario may use):

* `date` — the phase's start date (also implied by `start` alone);
* `enemy_halted` — the enemy has attacked and now fewer than
  `halted_fraction` of its attack-phase units still attack;
* `enemy_retreating` — the enemy has called off its offensive, or at least
  `retreating_fraction` of its units are withdrawing;
* `own_strength_superior` — at least `superior_min_enemy_men` enemy men are
  within `superior_radius_km` of the phase objective and the phase's units,
  with their side's other units there, outnumber them by `superior_ratio`.

Doctrine, applied as masks over the batch each step (the halt, call-off, counterattack and
pursuit parameters, SIDE_DOCTRINE, may differ by side: engine.yaml `sides.<side>.doctrine`):

* halt: an attacking unit halts when its local power ratio (own and friendly
  men in and next to its cell over enemy men in contact) falls below
  `halt_ratio`, or its stock below `halt_supply` while deliveries exceed its
  need (waiting rebuilds the stock; where they do not, it presses on until it
  starves); it resumes above
  `resume_ratio` and `resume_supply`;
* call off the offensive (general retreat to the start positions; the side
  that holds the victory objective instead stops where it stands), from the
  attackers' state alone: when at least
  `culmination_fraction` of a side's attack-phase units are broken or out of
  action, or the supply they live on falls below `retreat_supply`, or their
  men below `retreat_strength` of their full strength, or their mean morale
  below `retreat_morale`, or their men below `retreat_ratio` times the enemy
  men within `front_radius_km` of them (the enemy has gathered enough to stop
  them) — and it has stalled: over the last `stall_hours` or so (a fading
  record) the side has not won more of its decided engagements (attacks
  that carried, defences that held) than it lost. A commander presses a worn
  offensive that is still winning its fights and calls off one that is worn
  and thrown back;
* counterattack / envelop: a defending unit in contact attacks when its local
  ratio reaches `counter_ratio` (several units converging from different
  cells envelop: combat.py);
* pursue: a defending unit in contact with a withdrawing enemy attacks when its
  local ratio reaches `pursue_ratio`;
* envelop: a defending unit out of contact within `envelop_radius_km` of an
  enemy that a friend holds in contact marches on it (straight at its cell)
  and attacks from its own side, when the men near that enemy outnumber it by
  `envelop_ratio`;
* bypass: a motorised attacker in contact marches on past the enemy barring its way
  (`bypassing`) when the other attackers on that enemy hold it by `bypass_ratio` without it;
* broken units (combat.py breakpoints) withdraw toward their start positions
  and rally wherever they are, out of contact, once morale and strength allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xuefeng.engine import kernels
from xuefeng.engine.postures import ATTACK, HASTY, WITHDRAWAL
from xuefeng.engine.state import mm

TRIGGERS: tuple[str, ...] = ("date", "enemy_halted", "enemy_retreating", "own_strength_superior")

#: AIParams fields a side may set for itself (engine.yaml `sides.<side>.doctrine`): the halt,
#: call-off, counterattack and pursuit rules, applied to each unit with its side's value.
SIDE_DOCTRINE: tuple[str, ...] = ("halt_ratio", "halt_supply", "resume_ratio", "resume_supply",
                                  "culmination_fraction", "retreat_supply", "retreat_strength",
                                  "retreat_morale", "retreat_ratio", "counter_ratio", "counter_supply",
                                  "pursue_ratio", "bypass_ratio")
#: The SIDE_DOCTRINE parameters kernels.doctrine_halt takes, in its order (all but bypass_ratio,
#: which `bypassing` applies).
HALT_DOCTRINE: tuple[str, ...] = SIDE_DOCTRINE[:-1]


@dataclass(frozen=True)
class AIParams:
    halt_ratio: float = 1.0
    """Local power ratio below which an attacking unit halts (assumption: a neutral ratio rule -
    an attacker no longer stronger than what it attacks stops; 1940s doctrine wanted ~3:1 to
    start an attack on a position, and resume_ratio asks more than this to start again). An army
    whose doctrine pressed attacks at poorer odds sets its own value in its scenario's
    engine.yaml (`params` or `sides.<side>.doctrine`)."""
    resume_ratio: float = 1.2
    """Local ratio at which a halted unit resumes its attack (assumption)."""
    halt_supply: float = 0.2
    """Stock (fraction of the basic load, supply.py) below which an attacking unit halts to wait
    for supply, where deliveries exceed its need (assumption: under about a day and a half of
    supply)."""
    resume_supply: float = 0.4
    """Stock at which a halted unit may resume (assumption: about three days). A unit whose
    deliveries no longer exceed its need resumes without waiting: halting cannot rebuild its
    stock, so it attacks with what it has until it starves."""
    counter_ratio: float = 3.0
    """Local ratio at which a defending unit counterattacks (assumption: the classic 3:1 rule for
    an attack on a position; with 2:1 the West Hunan defenders counterattacked on most of the
    front from the first contact, which the seed does not describe)."""
    counter_supply: float = 0.4
    """Supply needed to counterattack (assumption)."""
    pursue_ratio: float = 0.8
    """Local ratio at which a defending unit pursues a withdrawing enemy (assumption)."""
    envelop_radius_km: float = 15.0
    """A free defending unit within this distance of an enemy held in contact by a friend moves
    to strike it (envelopment; 0 disables) (assumption: about two hexes, half a day's march; the
    seed's 5th and 121st Divisions 'repeatedly outflanked the Japanese')."""
    envelop_ratio: float = 1.2
    """Men near an engaged enemy (within envelop_radius_km, on the other sides) per enemy man
    needed to send a free unit to envelop it (assumption: a modest edge suffices against an
    enemy already fixed by a friend)."""
    culmination_fraction: float = 0.5
    """Share of a side's attack-phase units broken or out of action that ends its offensive
    (assumption: half the attacking divisions spent is an offensive spent)."""
    retreat_supply: float = 0.5
    """Mean level of supply the attack-phase units live on (supply.py `fed`) below which the
    offensive is called off (assumption: an army on half rations and half its ammunition
    cannot go on attacking)."""
    retreat_morale: float = 0.4
    """Mean morale of the attack-phase units below which the offensive is called off
    (assumption: morale falls with losses and repulses and recovers out of contact, so an
    offensive that keeps being thrown back loses heart)."""
    retreat_ratio: float = 1.0
    """The offensive is called off when its attack-phase units' men fall below this multiple of
    the enemy men within front_radius_km of them (assumption: a neutral ratio rule - an
    attacker that has gathered no more men than the enemy has against it has lost the
    superiority an offensive needs, and gives up)."""
    front_radius_km: float = 30.0
    """Radius around the attacking units within which enemy men count against the offensive
    (assumption: about a day's march — the forces that can join the battle within a day)."""
    stall_hours: float = 120.0
    """Time constant (hours) of a side's fading record of decided fights won and lost
    (record_fights); an offensive that has won more than it lost over about this time is not called
    off (assumption: five days — a few engagements' outcomes, CDB90's battles of the 1920-45 era
    lasting about a day each). 0 disables the gate."""
    retreat_strength: float = 0.0
    """Share of the attack-phase units' full strength below which the offensive is called off;
    0 (the default) is off. A side may set it as its doctrine. Off by default because the other
    rules already count exhaustion — at the unit (breakpoints: broken units, culmination_fraction)
    and against the enemy (retreat_ratio) — while this one ignores the enemy: it called off an
    offensive by a doubled army at 60% of its strength, still larger than the single army at full
    strength (assumption; found by the attacker-x2 model check; 0.6 before)."""
    halted_fraction: float = 0.34
    """`enemy_halted`: fewer than this share of the enemy's attack-phase units still attacking
    (assumption: two-thirds of the attackers stopped is an offensive halted)."""
    retreating_fraction: float = 0.5
    """`enemy_retreating`: the enemy has called off its offensive, or at least this share of its
    attack-phase units are withdrawing (assumption: half the attackers falling back is a retreat)."""
    superior_ratio: float = 1.5
    """`own_strength_superior`: ratio of own men (the phase's units plus the side's other units
    within superior_radius_km of the phase objective) to enemy men within that radius
    (assumption: 1.5:1 locally is enough to strike)."""
    superior_radius_km: float = 40.0
    """`own_strength_superior`: radius around the phase objective in which men count
    (assumption: a day or two's march — the forces that can meet at that objective)."""
    superior_min_enemy_men: float = 3000.0
    """`own_strength_superior` needs at least this many enemy men near the objective — a
    counterstroke needs an enemy to strike (assumption: a brigade)."""
    rally_strength: float = 0.6
    """Strength (share of full) a broken unit needs, besides morale, to rally (assumption)."""
    recover_morale: float = 0.5
    """Morale at which a broken unit out of contact rallies (assumption)."""
    morale_recovery_supply: float = 0.3
    """Supply a unit out of contact needs to regain morale (assumption: hungry troops do not recover)."""
    morale_recovery_per_day: float = 0.08
    """Morale regained per day out of contact with supply (assumption: a broken division
    rallies in about four days out of contact)."""
    start_line_km: float = 10.0
    """A unit within this many km (along the attack line) of its own start position (or of the
    attack's start point, if it started behind it) is back at the start line (assumption)."""
    bypass_ratio: float = 2.0
    """A motorised attacker in contact leaves its engagement and marches on past the enemy
    (bypassing: zones of control do not stop it, it enters no enemy-held cell) when the
    attackers that stay on its primary target, without it, have this many times the target's men
    (assumption: the mechanised doctrine of 1940-45 — armour goes round resistance that the
    following infantry can hold and reduce; at 2:1 the held enemy can neither break out nor
    strike the armour's flank). 0: no unit bypasses."""




def local_power(c, s, alive: np.ndarray, men: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(own power, enemy power in contact, touching, touching a withdrawing enemy), each (R,U)."""
    return kernels.local_power(*kernels.adjacency_args(c), s.cell, alive, men, s.posture == WITHDRAWAL, c.enemy)


def record_fights(c, s, p: AIParams, att_won: np.ndarray, decided: np.ndarray, dt_hours: float) -> None:
    """Add this step's decided engagements (by defender, (R,U)) to each side's fading record of
    fights won and lost (s.fights_won, s.fights_lost): an attack that wins or a defence that
    holds counts for a side, an attack repulsed or a position lost against it. The record fades
    with time constant p.stall_hours, so it does not depend on the step length."""
    keep = math.exp(-dt_hours / p.stall_hours) if p.stall_hours > 0 else 0.0
    held = decided & ~att_won
    lost_d = mm(att_won, c.side_onehot)  # (R,S) positions lost, by the defender's side
    held_d = mm(held, c.side_onehot)  # (R,S) attacks repulsed, by the defender's side
    esm = c.enemy_side_matrix.astype(float)  # an engagement's attackers are its defender's enemies
    s.fights_won = s.fights_won * keep + held_d + lost_d @ esm
    s.fights_lost = s.fights_lost * keep + lost_d + held_d @ esm


def offensive_stalled(s, p: AIParams) -> np.ndarray:
    """(R,S) whether each side's offensive has stalled: over the last stall_hours or so (the fading
    record, record_fights) it has not won more of its decided fights than it lost. 0 stall_hours:
    always (the call-off then follows the attackers' state alone)."""
    if p.stall_hours <= 0:
        return np.ones_like(s.side_retreat)
    return s.fights_won <= s.fights_lost


def bypassing(c, s, alive: np.ndarray) -> np.ndarray:
    """(R,U) the motorised attackers that march on past the enemy this step (bypass_ratio, by
    side): units attacking along a route, in contact, whose primary target (combat.py's, the
    enemy barring the way) the other attackers on it hold by the side's bypass_ratio without
    them (kernels.bypassers, in unit order)."""
    from xuefeng.engine.combat import primary_target

    ratio = c.side_doctrine["bypass_ratio"][c.side]
    motor = c.mode == 1
    if not (motor & (ratio > 0)).any():
        return np.zeros_like(alive)
    men = s.men()
    contact, touching = kernels.contact_matrix(*kernels.adjacency_args(c), s.cell, alive, c.enemy)
    attacking = (s.posture == ATTACK) & touching & (s.field >= 0) & ~s.halted
    ar, aa = np.nonzero(attacking)
    target = np.full(s.cell.shape, -1, np.int64)
    if ar.size:
        target[ar, aa] = primary_target(c, s, contact, men, ar, aa)
    return kernels.bypassers(target, men * alive, motor, ratio)


def orders(c, s, p: AIParams, cmd_p, alive: np.ndarray, u_delay: np.ndarray, log) -> None:
    """Phase 1 of a step: triggers, command delay, unit phases, routes and doctrine (in place)."""
    from xuefeng.engine.command import delay_steps

    t = s.t
    R, U = s.cell.shape
    P = c.n_phases
    oh = c.side_onehot
    men = s.men()
    if c.n_phases == 0:  # no plans: every unit holds where it stands
        in_att_phase = np.zeros_like(alive)
    else:
        in_att_phase = (s.phase >= 0) & c.phase_attack[np.maximum(s.phase, 0)] & alive
    attacking = (s.posture == ATTACK) & alive & in_att_phase
    n_ap = mm(in_att_phase, oh)
    n_at = mm(attacking, oh)
    halted_side = s.side_attacked & ((n_at < p.halted_fraction * np.maximum(n_ap, 1)) | s.side_retreat)
    n_wd = mm((s.posture == WITHDRAWAL) & in_att_phase, oh)
    retreating_side = s.side_retreat | (s.side_attacked & (n_wd >= p.retreating_fraction * np.maximum(n_ap, 1)))
    esm = c.enemy_side_matrix  # [s, t]
    enemy_halted = mm(halted_side, esm.T)[:, c.phase_side] > 0  # (R,P)
    enemy_retreating = mm(retreating_side, esm.T)[:, c.phase_side] > 0
    if P:
        pmen = mm(men * alive, c.phase_units.T)  # (R,P)
        near_cell = ((c.phase_obj_dist <= p.superior_radius_km) | (c.phase_obj_cell < 0)[:, None]).T.copy()  # (C,P)
        # own strength = the phase's units plus the side's other units near the objective
        emen, omen = kernels.men_near_objectives(near_cell, s.cell, men * alive, c.phase_units,
                                                 c.phase_side, c.side)
        superior = (emen >= p.superior_min_enemy_men) & (pmen + omen >= p.superior_ratio * emen)
        trig = c.phase_trigger[None, :]
        fire = (t >= c.phase_start_step)[None, :] | ((trig == 1) & enemy_halted) | \
            ((trig == 2) & enemy_retreating) | ((trig == 3) & superior) | \
            (c.phase_retreat[None, :] & s.side_retreat[:, c.phase_side])
        new = (s.phase_issued < 0) & fire
        if new.any():
            d = delay_steps(cmd_p, c.side_liaison[c.phase_side][None, :], u_delay, c.step_hours)
            s.phase_issued = np.where(new, t, s.phase_issued)
            s.phase_effective = np.where(new, t + d, s.phase_effective)
            rr, kk = np.nonzero(new)
            log("phase_issued", rr, None, c.phase_side[kk], [c.phase_ids[k] for k in kk])
        eff = s.phase_effective <= t
        started = eff & (s.phase_effective == t)
        if started.any():
            rr, kk = np.nonzero(started)
            log("phase_start", rr, None, c.phase_side[kk], [c.phase_ids[k] for k in kk])
        score = np.where(eff, s.phase_effective * P + np.arange(P)[None, :], -1)
        ph = kernels.latest_phase(score, c.phase_units)  # a score encodes its phase: effective step * P + phase
    else:
        ph = np.full((R, U), -1)
    changed = ph != s.phase
    s.wp = np.where(changed, 0, s.wp)
    s.halted &= ~changed
    s.phase = ph
    php = np.maximum(ph, 0)
    has = ph >= 0
    if P:
        # next waypoint when at the current one, or when the next is nearer than the current one
        # (a unit joins its axis at the nearest point ahead instead of marching back to its start)
        s.wp = kernels.advance_waypoints(s.wp, s.cell, ph, c.mode, c.ctg, c.phase_wp, c.phase_nwp, c.phase_wp_cell)
    if P:
        base = np.where(has, c.phase_posture[php], HASTY)
        fld = np.where(has & (c.phase_nwp[php] > 0), c.phase_wp[php, np.minimum(s.wp, c.phase_wp.shape[1] - 1)], -1)
    else:
        base = np.full((R, U), HASTY)
        fld = np.full((R, U), -1)
    # orders from outside the engine (orders.py) replace the plan's posture and objective; an
    # ordered attack is an offensive like a planned one (halts, call-off)
    ordered = s.order_posture >= 0
    if ordered.any() or (s.order_field >= 0).any():
        base = np.where(ordered, s.order_posture, base)
        fld = np.where(s.order_field >= 0, s.order_field, fld)
        in_att_phase = np.where(ordered, (s.order_posture == ATTACK) & alive, in_att_phase)
    # doctrine
    own, opp_p, touching, touch_wd = local_power(c, s, alive, men)
    # halt and resume, culmination and calling off, fall-back, counterattack and pursuit
    # (kernels.doctrine_halt; updates s.halted and s.side_retreat)
    # the offensive's men against the enemy men that can meet it (within front_radius_km)
    own_att, opp_att = kernels.men_facing(c.x_km[s.cell], c.y_km[s.cell], alive, (base == ATTACK) & in_att_phase,
                                          men, c.side, c.n_sides, p.front_radius_km)
    front_ratio = np.where(opp_att > 0, own_att / np.maximum(opp_att, 1.0), np.inf)
    stalled = offensive_stalled(s, p)
    post, free, call_off, sup, strength, mor, stuck = kernels.doctrine_halt(
        own, opp_p, touching, touch_wd, base, alive, s.present, s.supply, s.fed, s.flow, s.morale, s.halted, s.broken,
        men, c.men0, c.side, c.n_sides, s.side_attacked, s.side_retreat, front_ratio, stalled, c.victory_holder,
        *(c.side_doctrine[name] for name in HALT_DOCTRINE))
    if call_off.any():
        rr, ss = np.nonzero(call_off)
        why = []
        for r_, s_ in zip(rr, ss):
            d = {name: c.side_doctrine[name][s_] for name in SIDE_DOCTRINE}
            w = [n for n, v in (("broken", stuck[r_, s_] >= d["culmination_fraction"]),
                                ("supply", sup[r_, s_] < d["retreat_supply"]),
                                ("strength", strength[r_, s_] < d["retreat_strength"]),
                                ("morale", mor[r_, s_] < d["retreat_morale"]),
                                ("outnumbered", front_ratio[r_, s_] < d["retreat_ratio"])) if v]
            why.append("offensive called off: " + ", ".join(w) + " (stalled)" * bool(p.stall_hours > 0))
        log("retreat", rr, None, ss, why)
    # envelop: a free defending unit strikes an enemy that a friend already holds in contact,
    # from its own cell (converging attacks earn combat.envelop_surprise), when the men near
    # that enemy outnumber it by envelop_ratio
    if p.envelop_radius_km > 0:
        chase = kernels.envelop_targets(c.x_km[s.cell], c.y_km[s.cell], s.cell, alive, touching, free, men,
                                        c.enemy, p.envelop_radius_km, p.envelop_ratio)
    else:
        chase = np.full((R, U), -1, dtype=np.int64)
    # broken units withdraw; every withdrawal heads for the unit's own start position by the
    # quickest way (a retreat phase's axis is not followed: the start line is the goal) and holds
    # there; broken units out of contact rally (kernels.doctrine_final, in place)
    fld = np.array(fld, dtype=np.int64)
    kernels.doctrine_final(post, chase, fld, s.cell, c.start_cell, c.home_field, alive, touching, s.broken,
                           s.morale, men, s.delivered, in_att_phase, c.side, s.side_attacked, s.posture,
                           p.recover_morale, p.rally_strength)
    s.field = fld
    s.chase = chase

"""Air operations (DESIGN.md §2): sorties, missions, airlift, losses.

Sorties per group and day = aircraft * sorties_per_aircraft_per_day * weather *
fuel: `rain_sortie_factor` on a rain or overcast day (a seeded daily weather draw,
probability by month from the scenario's climate, or the scenario's recorded `weather`), `fuel_factor` for
`fuel_limited` groups while their side's airlift runs. They are flown in the
daylight steps, spread evenly over them. A group splits its sorties over its
missions by `mission_weights` (airlift only while units wait to be flown in).
Then, per side and day (so that nothing depends on the step length):

* air presence: the sides contest the sky, side s holding the share W_s / sum W of it, with
  W = AS + cas_presence*CAS + int_presence*INT its weighted sorties of the day, and the sky
  filled as 1 - exp(-sum W / presence_sorties_per_day): A_s = W_s / sum W * (1 - exp(-sum W /
  presence_sorties_per_day)) (`presence`); a side alone in the air has 1 - exp(-W_s / ...). The
  engagement model's air_superiority input is A_attacker - A_defender, for the day's fighting,
  night included;
* close support: the step's sorties fed to `combat` (casualties on enemy units
  in contact, in proportion to the sorties);
* interdiction: cut of the enemy's supply flow, and (movement.py) of its
  marching, = max_interdiction * (1 - exp(-INT / interdiction_sorties_per_day));
* air supply: tons = sorties * supply_tons_per_sortie, to the side's units whose
  deliveries fall short of their requests (supply.py), wherever they are — an
  encircled unit supplied by airdrop; strike weather (rain_sortie_factor) applies;
* airlift: men flown = sorties * men_per_sortie, to waiting air-arrival units in
  order of their arrival date; an air arrival's airlift begins at the earliest
  `airlift` event naming it or a parent (else its arrival date) and the unit has
  arrived when all its men are in;
* losses: aircraft lost = sorties * loss_per_sortie[mission] * (1 + enemy_air_factor *
  A_enemy) * noise; aircrew lost = aircraft lost * crew_killed_per_aircraft.

No cap makes a group's size irrelevant: presence and the interdiction cut
saturate smoothly (more aircraft always add), close support is linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Mission order used in arrays.
MISSIONS: tuple[str, ...] = ("air_superiority", "close_support", "interdiction", "airlift", "reconnaissance",
                             "air_supply")


@dataclass(frozen=True)
class AirParams:
    mission_weights: tuple[float, ...] = (1.0, 2.0, 1.5, 3.0, 0.3, 1.0)
    """Share of a multi-role group's sorties per mission (order: MISSIONS) before
    normalising over the missions it flies (assumption: 14th AF in 1945 flew mostly
    ground attack and interdiction; transports fly airlift first)."""
    day_start_hour: int = 6
    """Daylight begins (local hour; assumption: April-June at 27 N)."""
    day_end_hour: int = 18
    """Daylight ends (local hour; assumption: April-June at 27 N, ~12.5 h of daylight)."""
    rain_sortie_factor: float = 0.1
    """Sorties flown on a rain/low-cloud day as a fraction (assumption, from the one campaign
    with counts: in the Ardennes' "very poor flying weather" the Allies put up "less than a
    hundred battlefield sorties" a day against about 1,200 a side on a clear day, Cole 1965,
    p. 661; a scenario whose weather let more fly sets its own)."""
    airlift_rain_factor: float = 0.7
    """Airlift sorties flown on a rain/low-cloud day as a fraction (assumption: transports on
    a fixed route with radio aids flew in weather that grounded strike aircraft)."""
    fuel_factor: float = 0.5
    """Sortie rate of fuel-limited groups while an airlift runs (assumption; seed: the
    airlift 'diverted scarce fuel from the U.S. Fourteenth Air Force')."""
    presence_sorties_per_day: float = 120.0
    """Weighted sorties in a day that give ~63% air presence over the battlefield (assumption:
    about 60 per daylight half-day)."""
    cas_presence: float = 0.5
    """Weight of close-support sorties in air presence (assumption)."""
    int_presence: float = 0.3
    """Weight of interdiction sorties in air presence (assumption)."""
    interdiction_sorties_per_day: float = 120.0
    """Interdiction sorties in a day that cut ~63% of max_interdiction (assumption)."""
    max_interdiction: float = 0.5
    """Largest fraction of supply throughput air interdiction can cut (assumption: men and
    pack animals move at night off the roads)."""
    men_per_sortie: float = 30.0
    """Men flown per airlift sortie (assumption: a mix of C-47s, ~25 troops with kit, and C-46s,
    ~40; standard planning figures)."""
    default_airlift_days: float = 10.0
    """Days to fly a unit in when its side has no airlift group (assumption)."""
    loss_per_sortie: tuple[float, ...] = (0.0015, 0.0008, 0.0008, 0.0002, 0.0005, 0.0004)
    """Aircraft lost per sortie by mission, combat and operational (assumption: 14th AF
    loss rates of about 0.1% per sortie in 1945 against a weak Japanese air force and
    light flak; transports fly behind the front, twice as often lost when they drop supply over
    it)."""
    supply_tons_per_sortie: float = 2.5
    """Tons of supply one air-supply sortie delivers to units on the ground (assumption: a C-47's
    payload of about 2.5-3 t, dropped or landed)."""
    enemy_air_factor: float = 2.0
    """Loss multiplier per unit of enemy air presence (assumption)."""
    crew_killed_per_aircraft: float = 1.0
    """Aircrew killed or missing per aircraft lost (assumption: mostly single-seat
    fighter-bombers; some crews bail out or are recovered)."""
    cas_liaison_multiplier: float = 2.0
    """Close-support effect for a side with a liaison/advisory system (assumption; seed: the
    liaison system let air support be called where needed)."""


@dataclass
class AirResult:
    presence: np.ndarray  # (R,S)
    cas_sorties: np.ndarray  # (R,S)
    interdiction_cut: np.ndarray  # (R,S) cut applied to side s's supply
    airlift_men: np.ndarray  # (R,S)
    supply_tons: np.ndarray  # (R,S) tons flown to the side's units this step (air_supply)
    aircraft_lost: np.ndarray  # (R,G)
    aircrew_lost: np.ndarray  # (R,S)


def presence(day_m: np.ndarray, p: AirParams) -> np.ndarray:
    """(R,S) each side's air presence today from its sorties by mission (R,S,M, per day): the sides
    contest the sky, each holding the share of it that its weighted sorties W_s are of all the
    sides' (W = AS + cas_presence*CAS + int_presence*INT), and the sky is filled as
    1 - exp(-sum W / presence_sorties_per_day). A side alone in the air has 1 - exp(-W/...); two
    air forces of equal size each hold half of a sky they fill together, so a weak air force does
    not cancel a strong one by filling its own sky too."""
    w = day_m[..., 0] + p.cas_presence * day_m[..., 1] + p.int_presence * day_m[..., 2]
    tot = w.sum(-1, keepdims=True)
    share = np.where(tot > 0, w / np.maximum(tot, 1e-300), 0.0)
    return share * (1.0 - np.exp(-tot / p.presence_sorties_per_day))


def fly(c, aircraft: np.ndarray, day: bool, rain: np.ndarray, airlift_waiting: np.ndarray,
        u: np.ndarray, p: AirParams, day_steps: int) -> AirResult:
    """One step of air operations. aircraft (R,G); day: a daylight step; rain (R,) bool;
    airlift_waiting (R,S) bool; u (R,G) uniforms for loss noise. Presence and the interdiction
    cut are the day's; sorties, airlift and losses those of this step (none at night). `rain` is
    any low cloud: a rain day or an overcast one (the scenario's recorded weather)."""
    R = aircraft.shape[0]
    S = c.n_sides
    G = aircraft.shape[1]
    zero_rs = np.zeros((R, S))
    if G == 0:
        return AirResult(zero_rs, zero_rs.copy(), zero_rs.copy(), zero_rs.copy(), zero_rs.copy(), np.zeros((R, G)),
                         zero_rs.copy())
    weather = np.where(rain, p.rain_sortie_factor, 1.0)[:, None]
    lifting = airlift_waiting[:, c.group_side]  # (R,G)
    # fuel-limited combat groups give up fuel to their own side's airlift while it runs
    # (transports fly it)
    fuel = np.where(c.group_fuel_limited[None, :] & (c.group_missions[None, :, 3] == 0) & lifting,
                    p.fuel_factor, 1.0)
    weather = np.where(c.group_missions[None, :, 3] > 0,
                       np.where(rain, p.airlift_rain_factor, 1.0)[:, None], weather)
    per_day = aircraft * c.group_rate[None, :] * weather * fuel  # (R,G) sorties today
    M = len(MISSIONS)
    w = np.broadcast_to(c.group_missions[None] * np.asarray(p.mission_weights)[None, None, :], (R, G, M)).copy()
    w[..., 3] = np.where(lifting, w[..., 3], 0.0)
    wsum = w.sum(-1, keepdims=True)
    share = np.where(wsum > 0, w / np.maximum(wsum, 1e-12), 0.0)
    day_m = np.einsum("rgm,gs->rsm", per_day[..., None] * share, c.group_side_onehot)  # (R,S,5) per day
    pres = presence(day_m, p)
    enemy_int = np.einsum("rs,ts->rt", day_m[..., 2], c.enemy_side_matrix)
    cut = p.max_interdiction * (1.0 - np.exp(-enemy_int / p.interdiction_sorties_per_day))
    if not day:
        return AirResult(pres, zero_rs, cut, zero_rs.copy(), zero_rs.copy(), np.zeros((R, G)), zero_rs.copy())
    by_mission = (per_day / day_steps)[..., None] * share  # (R,G,5) this step's sorties
    side_m = np.einsum("rgm,gs->rsm", by_mission, c.group_side_onehot)  # (R,S,5)
    enemy_pres = np.einsum("rs,ts->rt", pres, c.enemy_side_matrix).clip(0, 1)  # (R,S) enemy presence faced by s
    lp = np.asarray(p.loss_per_sortie)
    lost = (by_mission * lp[None, None, :]).sum(-1) * (1.0 + p.enemy_air_factor * enemy_pres[:, c.group_side])
    lost = np.minimum(lost * 2.0 * u, aircraft)  # mean-1 uniform noise
    crew = np.einsum("rg,gs->rs", lost, c.group_side_onehot) * p.crew_killed_per_aircraft
    return AirResult(pres, side_m[..., 1], cut, side_m[..., 3] * p.men_per_sortie,
                     side_m[..., 5] * p.supply_tons_per_sortie, lost, crew)

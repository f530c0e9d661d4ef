"""Engagement model: combat resolution fitted and validated on CDB90 (DESIGN.md §2).

    from xuefeng.engagement import EngagementModel, POSTURES, TERRAINS, ADVANTAGES
    model = EngagementModel.default()          # the shipped fit (data/params.json)
    p_win, cas_att, cas_def = model.predict_batch(att_strength=..., def_strength=..., ...)

See :mod:`xuefeng.engagement.model` for the equations, :mod:`.fit` for the
fitting, :mod:`.cdb90` for reading the data, :mod:`.evaluate` for the
cross-validation against baselines, and docs/engagement-model.md.
"""

from xuefeng.engagement.model import ADVANTAGES, POSTURES, TERRAINS, EngagementModel

__all__ = ["ADVANTAGES", "POSTURES", "TERRAINS", "EngagementModel"]

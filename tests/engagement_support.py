"""Shared helpers of the engagement tests: where the shared CDB90 data lies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _find_cdb90_dev() -> Path | None:
    """The shared CDB90 dev file: $XUEFENG_CDB90_DEV, else `shared/data/cdb90/` beside the
    repository or beside any folder above it (a clone may sit deeper than the checkout)."""
    env = os.environ.get("XUEFENG_CDB90_DEV")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents[1:]:
        candidate = parent / "shared" / "data" / "cdb90" / "cdb90-dev.csv"
        if candidate.is_file():
            return candidate
    return None


CDB90_DEV = _find_cdb90_dev()


def dev_csv() -> Path:
    """The shared dev data. The project's data is not part of the repository (it lives in
    the shared folder beside it); where a checkout has no such folder, the tests that need
    the real battles fail and say how to point them at it (a skip would pass unseen)."""
    if CDB90_DEV is None or not CDB90_DEV.is_file():
        pytest.fail("CDB90 dev data not found: set XUEFENG_CDB90_DEV to cdb90-dev.csv "
                    "(it lies in shared/data/cdb90/ beside the repository)")
    return CDB90_DEV


HEADER = (
    "ISQNO,WAR,NAME,CAMPGN,NAMA,COA,WOFA1,WOFD1,POST1,TERRA1,WX1,SURPA,AEROA,STRA,INTSTA,STRD,INTSTD,"
    "TANKA,ARTYA,TANKD,ARTYD,LEADA,TRNGA,MORALA,LOGSA,MOMNTA,INTELA,TECHA,INITA,"
    "NOATP,ATPBYR1,ATPBMN1,ATPBDA1,ATPBHR1,ATPEYR1,ATPEMN1,ATPEDA1,ATPEHR1,WINA,CASA,CASD"
)


def row(**kw: object) -> str:
    """One CSV row of HEADER, defaults for a plain WWII battle."""
    base = dict(
        ISQNO=1, WAR="WORLD WAR II", NAME="TEST", CAMPGN="TEST 1944", NAMA="?", COA="?",
        WOFA1=5, WOFD1=5, POST1="HD", TERRA1="RM0", WX1="DSTST", SURPA=0, AEROA=0,
        STRA=20000, INTSTA=20000, STRD=10000, INTSTD=10000, TANKA=0, ARTYA=100, TANKD=0, ARTYD=40,
        LEADA=0, TRNGA=0, MORALA=0, LOGSA=0, MOMNTA=0, INTELA=0, TECHA=0, INITA=1,
        NOATP=1, ATPBYR1=1944, ATPBMN1=6, ATPBDA1=6, ATPBHR1=600, ATPEYR1=1944, ATPEMN1=6,
        ATPEDA1=7, ATPEHR1=1800, WINA=1, CASA=1000, CASD=2000,
    )
    base.update(kw)
    cols = HEADER.split(",")
    out = []
    for c in cols:
        v = str(base[c])
        out.append(f'"{v}"' if "," in v else v)
    return ",".join(out)

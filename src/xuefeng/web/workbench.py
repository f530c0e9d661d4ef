"""The workbench: the served page where a person picks a scenario, seed, replications and
what-ifs, starts a run, watches its progress and opens its report; and `/docs`, the API's
interactive documentation, served without any network (Swagger UI from `fastapi-offline`).

Routes (included by `create_app`; the app's token, Host and size rules hold for them too):

    GET /                               the workbench page (static/workbench.html)
    GET /workbench.js, /workbench.css   its script and style (plain files, no build step)
    GET /api/scenarios/{name}/whatifs   the scenario's named what-ifs (its whatifs.yaml)
    GET /docs                           Swagger UI over /openapi.json
    GET /docs/assets/{file}             Swagger UI's script, style and icon (a fixed list)

No route reads a file named by the request: the page's and Swagger UI's files are a fixed
mapping from URL to packaged file.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

# the key under which the token page (auth.py), this page and /docs keep a typed token
from xuefeng.web.auth import TOKEN_STORAGE_KEY

#: The workbench's own files: URL name → (packaged file under web/static, media type).
PAGE_FILES = {
    "workbench.js": ("workbench.js", "text/javascript; charset=utf-8"),
    "workbench.css": ("workbench.css", "text/css; charset=utf-8"),
}
#: Swagger UI's files, shipped by the `fastapi-offline` package: URL name → (file, media type).
DOCS_ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": ("favicon.png", "image/png"),
}

class WhatIfItem(BaseModel):
    name: str
    title: str
    note: str


@dataclass(frozen=True)
class LocalScenario:
    """A scenario folder given to `xuefeng serve --scenario-dir`, loaded and checked at start."""

    path: Path
    scenario: Any
    whatifs: Mapping[str, Any] = field(default_factory=dict)


def load_scenario_dirs(paths: Iterable[Path], taken: Iterable[str] = ()) -> dict[str, LocalScenario]:
    """Load each folder (scenario.yaml, optional whatifs.yaml); ValueError with one line naming
    the folder if one does not load or its name is already served (`taken`) or repeated."""
    from xuefeng.analysis.whatif import OverrideError, load_whatifs
    from xuefeng.scenario import ScenarioError, load_scenario
    from xuefeng.scenario.loader import SCENARIO_FILE

    out: dict[str, LocalScenario] = {}
    taken = set(taken)
    for p in paths:
        if not p.is_dir():
            raise ValueError(f"--scenario-dir {p}: not a folder (give a folder holding {SCENARIO_FILE}, "
                             "e.g. one made by `xuefeng scenario new`)")
        try:
            sc = load_scenario(p)
            wi = load_whatifs(p)
        except (ScenarioError, OverrideError) as e:
            raise ValueError(f"--scenario-dir {p}: {e}") from None
        name = sc.meta.name
        if name in taken or name in out:
            raise ValueError(f"--scenario-dir {p}: scenario name '{name}' is already served; "
                             "give the folder's scenario another meta.name")
        out[name] = LocalScenario(path=p, scenario=sc, whatifs=wi)
    return out


def packaged_whatifs(name: str) -> Mapping[str, Any]:
    """A packaged scenario's named what-ifs; 422 if its whatifs.yaml is bad."""
    from xuefeng.analysis.whatif import OverrideError, load_whatifs

    try:
        return load_whatifs(name)
    except OverrideError as e:
        raise HTTPException(422, f"scenario '{name}': {e}") from None


def _static(name: str) -> bytes:
    return resources.files("xuefeng.web").joinpath("static", name).read_bytes()


def _docs_asset(name: str) -> bytes:
    return resources.files("fastapi_offline").joinpath("static", name).read_bytes()


def docs_html(openapi_url: str, title: str) -> str:
    """Swagger UI over the app's OpenAPI description, all assets local; a token kept by the
    workbench (sessionStorage) is sent as a header with every request Swagger UI makes."""
    cfg = json.dumps({"url": openapi_url, "dom_id": "#swagger-ui", "deepLinking": True,
                      "layout": "BaseLayout", "showExtensions": True})
    key = json.dumps(TOKEN_STORAGE_KEY)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} API — interactive documentation</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body>
<p style="font-family:sans-serif;margin:8px 16px"><a href="/">← workbench</a></p>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
const cfg = {cfg};
cfg.presets = [SwaggerUIBundle.presets.apis];
cfg.requestInterceptor = (req) => {{
  const t = sessionStorage.getItem({key});
  if (t) req.headers["Authorization"] = "Bearer " + t;
  return req;
}};
window.ui = SwaggerUIBundle(cfg);
</script>
</body></html>"""


def workbench_router(whatifs_of: Callable[[str], Mapping[str, Any]], *, openapi_url: str,
                     title: str, default_scenario: str,
                     responses: dict[int | str, dict[str, Any]] | None = None) -> APIRouter:
    """The workbench's routes; `whatifs_of(name)` gives a served scenario's named what-ifs (404 if
    unknown); the page starts on `default_scenario`; `responses`: the app's documented error answers."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def workbench() -> HTMLResponse:
        page = _static("workbench.html").decode("utf-8")
        return HTMLResponse(page.replace("<body>", f'<body data-default-scenario="{html.escape(default_scenario)}">', 1))

    for url, (fname, media) in PAGE_FILES.items():
        def serve_file(fname: str = fname, media: str = media) -> Response:
            return Response(_static(fname), media_type=media)
        router.add_api_route(f"/{url}", serve_file, methods=["GET"], include_in_schema=False)

    @router.get("/api/scenarios/{name}/whatifs", response_model=list[WhatIfItem], responses=responses)
    def scenario_whatifs(name: Annotated[str, PathParam(max_length=64)]) -> list[WhatIfItem]:
        """The scenario's named what-ifs (its whatifs.yaml): give their names as `whatifs` in POST /api/runs."""
        return [WhatIfItem(name=n, title=w.title, note=w.note) for n, w in whatifs_of(name).items()]

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(openapi_url, title))

    @router.get("/docs/assets/{asset}", include_in_schema=False)
    def docs_asset(asset: str) -> Response:
        if asset not in DOCS_ASSETS:
            raise HTTPException(404, f"no such file '{asset[:64]}'")
        fname, media = DOCS_ASSETS[asset]
        return Response(_docs_asset(fname), media_type=media, headers={"Cache-Control": "max-age=3600"})

    return router

"""Scenario commands: validate, schema, scenario list/show, sources."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def schema() -> None:
        """Print the JSON Schema of the scenario format."""
        import json

        from xuefeng.scenario.schema import Scenario

        print(json.dumps(Scenario.model_json_schema(), indent=2))

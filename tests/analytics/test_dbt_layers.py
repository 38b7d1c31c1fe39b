"""dbt layers flow one way (STYLE.md): staging reads sources and seeds; intermediate models read staging, other
intermediates and seeds; marts read intermediates, staging and seeds, never another mart. Read from the manifest
dbt itself parses, so a `ref` anywhere in a model's SQL counts."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from pipelines.project import prepare_manifest

LAYERS = ("staging", "intermediate", "marts")
# What each layer's models may depend on: "source", "seed", or the layer of a model.
MAY_READ = {
    "staging": {"source", "seed"},
    "intermediate": {"seed", "staging", "intermediate"},
    "marts": {"seed", "staging", "intermediate"},
}


def layer_of(node: dict[str, Any]) -> str:
    """A model's layer, the folder under models/ it lives in; anything else is its resource type."""
    if node["resource_type"] != "model":
        return str(node["resource_type"])
    parts = PurePosixPath(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" and parts[1] in LAYERS else "no layer"


def layer_violations(manifest: dict[str, Any]) -> list[str]:
    """Each dependency of a model of the project that goes against MAY_READ, as 'model (layer) -> parent (layer)'."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    found = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != manifest["metadata"]["project_name"]:
            continue
        layer = layer_of(node)
        for parent_id in node["depends_on"]["nodes"]:
            parent = nodes[parent_id]
            if layer_of(parent) not in MAY_READ.get(layer, set()):
                found.append(f"{node['name']} ({layer}) -> {parent['name']} ({layer_of(parent)})")
    return sorted(found)


def project_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(prepare_manifest().read_text())
    return manifest


def test_every_model_reads_only_the_layers_below_it() -> None:
    manifest = project_manifest()
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {layer_of(n) for n in models} == set(LAYERS)  # the check below sees all three layers
    assert layer_violations(manifest) == []


def test_every_model_has_a_same_named_yml() -> None:
    models = [n for n in project_manifest()["nodes"].values() if n["resource_type"] == "model"]
    misplaced = [
        n["name"]
        for n in models
        if n["patch_path"] is None or PurePosixPath(n["patch_path"].split("://")[-1]).stem != n["name"]
    ]
    assert misplaced == []


def model(name: str, layer: str, *parents: str) -> tuple[str, dict[str, Any]]:
    return f"model.patronage.{name}", {
        "name": name,
        "resource_type": "model",
        "package_name": "patronage",
        "original_file_path": f"models/{layer}/{name}.sql",
        "depends_on": {"nodes": list(parents)},
    }


def test_a_model_reading_up_or_across_the_marts_is_reported() -> None:
    manifest = {
        "metadata": {"project_name": "patronage"},
        "sources": {"source.patronage.raw.events": {"name": "events", "resource_type": "source"}},
        "nodes": dict(
            [
                ("seed.patronage.categories", {"name": "categories", "resource_type": "seed"}),
                model("stg_events", "staging", "source.patronage.raw.events", "seed.patronage.categories"),
                model("stg_joined", "staging", "model.patronage.stg_events"),
                model("int_a", "intermediate", "model.patronage.stg_events", "model.patronage.fct_a"),
                model("int_b", "intermediate", "model.patronage.int_a", "seed.patronage.categories"),
                model("fct_a", "marts", "model.patronage.int_a", "model.patronage.stg_events"),
                model("fct_b", "marts", "model.patronage.fct_a"),
                model("loose", "misc", "model.patronage.stg_events"),
            ]
        ),
    }
    assert layer_violations(manifest) == [
        "fct_b (marts) -> fct_a (marts)",
        "int_a (intermediate) -> fct_a (marts)",
        "loose (no layer) -> stg_events (staging)",
        "stg_joined (staging) -> stg_events (staging)",
    ]

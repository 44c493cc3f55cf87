"""The generated docs match the code: README tables, meltano.yml entries, hub definitions.

Users configure the plugins from what these files say, and Meltano hides a value only when
`meltano.yml` says `sensitive: true`. So the tests pin, from the plugins' own `--about`, that
every setting is declared with the kind its schema implies, that exactly the schema's secrets
are sensitive, and that nothing was guessed from a name (`conversion_rule_id` is not a secret).
"""

from __future__ import annotations

import functools
import json
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
PLUGINS = {"target-linkedin-conversions": "loaders", "tap-linkedin-conversions": "extractors"}
SECRETS = {"access_token", "client_id", "client_secret", "refresh_token"}
KINDS = {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
         "object": "object", "array": "array"}
# Meltano Hub's loader/extractor definition keys (reference notes §4.5).
HUB_KEYS = {
    "name", "namespace", "variant", "label", "description", "logo_url", "repo", "docs",
    "pip_url", "executable", "capabilities", "settings", "settings_group_validation",
    "commands", "dialect", "target_schema", "hidden", "requires", "maintenance_status",
    "domain_url", "keywords", "definition", "next_steps", "settings_preamble", "usage",
    "prereq", "quality", "select", "metadata",
}


@functools.cache
def about(plugin: str) -> dict:
    result = subprocess.run([str(BIN / plugin), "--about", "--format=json"], capture_output=True,
                            text=True, check=True, timeout=120)
    return json.loads(result.stdout)


def schema_properties(plugin: str) -> dict[str, dict]:
    return about(plugin)["settings"]["properties"]


def meltano_plugin(plugin: str) -> dict:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    [entry] = [p for p in project["plugins"][PLUGINS[plugin]] if p["name"] == plugin]
    return entry


def hub_definition(plugin: str) -> dict:
    [path] = (ROOT / "plugins" / PLUGINS[plugin]).glob(f"{plugin}--*.yml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def expected_kind(prop: dict) -> str:
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    [json_type] = [kind for kind in types if kind != "null"]
    kind = KINDS[json_type]
    return "options" if kind == "string" and "enum" in prop else kind


def test_generated_files_are_fresh() -> None:
    """README tables, meltano.yml entries and plugins/ are what the generator writes now."""
    result = subprocess.run([sys.executable, "scripts/generate_docs.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        "generated docs are stale; run `.venv/bin/python scripts/generate_docs.py` and commit:\n"
        + result.stderr
    )


@pytest.mark.parametrize("plugin", PLUGINS)
def test_readme_table_lists_every_setting(plugin: str) -> None:
    marker = "settings" if plugin.startswith("target") else "tap-settings"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split(f"<!-- {marker}:start -->")[1].split(f"<!-- {marker}:end -->")[0]
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")}
    assert set(schema_properties(plugin)) <= rows


@pytest.mark.parametrize("plugin", PLUGINS)
@pytest.mark.parametrize("source", ["meltano.yml", "hub"])
def test_every_setting_is_declared_with_its_kind_and_sensitivity(plugin: str, source: str) -> None:
    entry = meltano_plugin(plugin) if source == "meltano.yml" else hub_definition(plugin)
    declared = {setting["name"]: setting for setting in entry["settings"]}
    properties = schema_properties(plugin)

    assert set(declared) == set(properties)
    for name, prop in properties.items():
        setting = declared[name]
        assert setting["kind"] == expected_kind(prop), name
        assert setting.get("sensitive", False) is bool(prop.get("secret")), name
        assert setting.get("description") == prop.get("description"), name
        assert setting.get("value") == prop.get("default"), name


@pytest.mark.parametrize("plugin", PLUGINS)
def test_exactly_the_credentials_are_secret_and_none_is_guessed_from_its_name(plugin: str) -> None:
    """Ids such as conversion_rule_id and ad_account_id are config, not secrets."""
    secret_in_schema = {name for name, prop in schema_properties(plugin).items()
                        if prop.get("secret") and prop.get("writeOnly")}
    assert secret_in_schema == SECRETS

    for entry in (meltano_plugin(plugin), hub_definition(plugin)):
        sensitive = {s["name"] for s in entry["settings"] if s.get("sensitive")}
        assert sensitive == SECRETS
        assert all(s["kind"] == "string" for s in entry["settings"] if s["name"] in SECRETS)
        assert not [s for s in entry["settings"] if s["kind"] in ("password", "hidden")]

    # What hub-utils' name guess would have hidden: still plain config here.
    look_secret = {s["name"] for s in meltano_plugin(plugin)["settings"]
                   if any(word in s["name"] for word in ("id", "token", "key", "secret"))}
    expected = {"ad_account_ids"} if plugin.startswith("tap") else {"ad_account_id",
                                                                      "conversion_rule_id"}
    assert expected <= look_secret - SECRETS


@pytest.mark.parametrize("plugin", PLUGINS)
def test_hub_definition_has_the_hub_shape(plugin: str) -> None:
    definition = hub_definition(plugin)
    assert set(definition) <= HUB_KEYS
    assert definition["pip_url"] == "target-linkedin-conversions"  # one distribution, two plugins
    assert definition["namespace"] == plugin.replace("-", "_")
    assert definition["capabilities"] == sorted(about(plugin)["capabilities"])
    names = [setting["name"] for setting in definition["settings"]]
    assert names == sorted(names)
    assert all(setting.get("label") for setting in definition["settings"])


@pytest.mark.parametrize("plugin", PLUGINS)
def test_meltano_yml_installs_both_plugins_from_this_checkout(plugin: str) -> None:
    entry = meltano_plugin(plugin)
    assert entry["pip_url"] == "-e ."
    assert entry["namespace"] == plugin.replace("-", "_")
    assert set(entry["capabilities"]) == set(about(plugin)["capabilities"])
    assert ["access_token"] in entry["settings_group_validation"]


def test_meltano_yml_uses_current_meltano_keys() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    assert "version" not in project  # deprecated in Meltano 4; requires_meltano replaces it
    assert project["requires_meltano"].startswith(">=")

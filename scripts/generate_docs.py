#!/usr/bin/env python3
"""Regenerate what documents the plugins' settings from the plugins themselves.

The config schema in the code is the one source of truth; everything a user reads about the
settings is derived from `--about` so it cannot drift:

- README.md: the settings tables, from `<plugin> --about --format=markdown`, between the
  `<!-- settings:start -->` / `<!-- tap-settings:start -->` markers and their `:end` twins;
- meltano.yml: the two plugin entries (capabilities and every setting with its kind,
  sensitivity, description and default), from `--about --format=json`. They are found by
  their `- name:` line, not by marker comments, because `meltano config set` rewrites the file
  and drops comments; settings keys are written in Meltano's own order so that such a rewrite
  leaves the entries unchanged;
- plugins/: Meltano Hub style definitions of both plugins, with settings sorted by name.

A setting is `sensitive` exactly when the schema marks it `secret`/`writeOnly`. Meltano's own
hub tooling guesses sensitivity from names (`*_id`, `*token*`, ...), which would hide
`conversion_rule_id` and `ad_account_id`; nothing here looks at names.

Run with the project's virtualenv, which has the console scripts and PyYAML:

    .venv/bin/python scripts/generate_docs.py          # rewrite what is stale
    .venv/bin/python scripts/generate_docs.py --check  # exit 1 and name what is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import typing as t

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MELTANO_YML = ROOT / "meltano.yml"
PLUGINS_DIR = ROOT / "plugins"

# The hub names a definition by plugin and variant (usually the maintainer's organisation).
# TODO: use the GitHub organisation as the variant once the repository is published.
VARIANT = "original"
DISTRIBUTION = "target-linkedin-conversions"  # the hub's pip_url: both plugins are in it
WIDTH = 100

# Groups of settings of which one must be complete (Meltano checks them in `config test` and
# its UI); the schema cannot say "this one OR those three", so they are declared here.
AUTH_GROUPS = [["access_token"], ["client_id", "client_secret", "refresh_token"]]

# JSON schema type -> Meltano setting kind (Meltano 4: `password` is deprecated, a secret is
# `kind: string` + `sensitive: true`; a JSON number is a decimal, not an integer).
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
}

ACRONYMS = {"id": "ID", "ids": "IDs", "url": "URL", "api": "API", "oauth": "OAuth"}


@dataclasses.dataclass(frozen=True)
class Plugin:
    """One of the two plugins the distribution ships, and where its docs go."""

    name: str
    label: str
    plugin_type: str  # Meltano's plural: extractors | loaders
    readme_marker: str
    keywords: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.name.replace("-", "_")

    @property
    def hub_path(self) -> pathlib.Path:
        return PLUGINS_DIR / self.plugin_type / f"{self.name}--{VARIANT}.yml"


PLUGINS = (
    Plugin("target-linkedin-conversions", "LinkedIn Conversions API", "loaders", "settings",
           ("meltano_sdk", "linkedin", "conversions api", "reverse etl")),
    Plugin("tap-linkedin-conversions", "LinkedIn Conversions API discovery", "extractors",
           "tap-settings",
           ("meltano_sdk", "linkedin", "linkedin ads", "conversion rules")),
)


class GenerateError(Exception):
    """Something the generator needs is missing; the message says what."""


# -- reading the plugins --------------------------------------------------------------------------


def about(plugin: Plugin, fmt: str) -> str:
    """`<plugin> --about --format=FMT`, from the console script beside this interpreter."""
    executable = pathlib.Path(sys.executable).parent / plugin.name
    command = str(executable) if executable.exists() else shutil.which(plugin.name)
    if command is None:
        raise GenerateError(f"{plugin.name} is not installed; run `python3 dev.py test` once "
                            "to create .venv, then use .venv/bin/python")
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run([command, "--about", f"--format={fmt}"], capture_output=True,
                            text=True, check=False, env=env, timeout=120)
    if result.returncode != 0:
        raise GenerateError(f"{plugin.name} --about failed:\n{result.stderr}")
    return result.stdout


def settings_table(markdown: str) -> str:
    """The Settings table of `--about --format=markdown`, header row to last row."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("| Setting")), None)
    if start is None:
        raise GenerateError("no settings table in the --about markdown")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


# -- settings as Meltano sees them ----------------------------------------------------------------


def label(name: str, prop: dict[str, t.Any]) -> str:
    """The schema's title, else the name in words: conversion_rule_id -> Conversion Rule ID."""
    if prop.get("title"):
        return str(prop["title"])
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in name.split("_"))


def json_type(prop: dict[str, t.Any]) -> str | None:
    """The one non-null JSON type of a property, or None for unions and untyped ones."""
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    concrete = [kind for kind in types if kind != "null"]
    return concrete[0] if len(concrete) == 1 else None


def is_secret(prop: dict[str, t.Any]) -> bool:
    """What the SDK's `th.Property(secret=True)` writes, and nothing else (never the name)."""
    return bool(prop.get("secret") or prop.get("writeOnly"))


def setting(name: str, prop: dict[str, t.Any], *, with_label: bool) -> dict[str, t.Any]:
    """One Meltano setting definition from one top-level schema property."""
    kind = KINDS.get(json_type(prop) or "", "string")
    if "enum" in prop and kind == "string":
        kind = "options"
    entry: dict[str, t.Any] = {"name": name, "kind": kind}  # Meltano's key order
    if prop.get("default") is not None:
        entry["value"] = prop["default"]
    if with_label:
        entry["label"] = label(name, prop)
    if prop.get("description"):
        entry["description"] = prop["description"]
    if kind == "options":
        entry["options"] = [{"label": str(value), "value": value}
                            for value in prop["enum"] if value is not None]
    if is_secret(prop):
        entry["sensitive"] = True
    return entry


def settings(about_json: dict[str, t.Any], *, hub: bool) -> list[dict[str, t.Any]]:
    """Every top-level setting: in schema order for meltano.yml, by name for the hub."""
    properties = about_json["settings"]["properties"]
    names = sorted(properties) if hub else list(properties)
    return [setting(name, properties[name], with_label=hub) for name in names]


def meltano_entry(plugin: Plugin, about_json: dict[str, t.Any]) -> dict[str, t.Any]:
    """The plugin as meltano.yml declares it: installed from this checkout."""
    return {
        "name": plugin.name,
        "namespace": plugin.namespace,
        "pip_url": "-e .",
        "executable": plugin.name,
        "capabilities": sorted(about_json["capabilities"]),
        "settings_group_validation": AUTH_GROUPS,
        "settings": settings(about_json, hub=False),
    }


def hub_definition(plugin: Plugin, about_json: dict[str, t.Any]) -> dict[str, t.Any]:
    """The plugin as a Meltano Hub entry (`_data/meltano/<type>/<name>/<variant>.yml`)."""
    return {
        "name": plugin.name,
        "namespace": plugin.namespace,
        "variant": VARIANT,
        "label": plugin.label,
        "description": about_json["description"],
        "keywords": list(plugin.keywords),
        "maintenance_status": "beta",
        "pip_url": DISTRIBUTION,
        "executable": plugin.name,
        "capabilities": sorted(about_json["capabilities"]),
        "settings_group_validation": AUTH_GROUPS,
        "settings": settings(about_json, hub=True),
    }


# -- YAML text, written so that a diff stays readable --------------------------------------------


def scalar(value: t.Any) -> str:
    """VALUE as one YAML flow scalar, quoted only when YAML would misread it."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 16)
    return text.removesuffix("\n...\n").removesuffix("\n")


def key_value(key: str, value: t.Any, indent: int) -> list[str]:
    """`key: value` lines at INDENT; long text folds into a `>-` block within the width."""
    pad = " " * indent
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        line = f"{pad}{key}: [{', '.join(scalar(item) for item in value)}]"
        if len(line) <= WIDTH:
            return [line]
        return [f"{pad}{key}:"] + [f"{pad}- {scalar(item)}" for item in value]
    if isinstance(value, list):
        lines = [f"{pad}{key}:"]
        for item in value:
            lines += mapping(item, indent, first_prefix="- ")
        return lines
    line = f"{pad}{key}: {scalar(value)}"
    if len(line) <= WIDTH and "\n" not in scalar(value):
        return [line]
    folded = textwrap.wrap(str(value), WIDTH - indent - 2, break_long_words=False,
                           break_on_hyphens=False)
    block = [f"{pad}{key}: >-"] + [f"{pad}  {part}" for part in folded]
    if yaml.safe_load("\n".join(block)) == {key: value}:
        return block
    return [f"{pad}{key}: {json.dumps(value, ensure_ascii=False)}"]  # YAML reads JSON strings


def mapping(entry: dict[str, t.Any], indent: int, first_prefix: str = "") -> list[str]:
    """A mapping's lines; with FIRST_PREFIX "- " it is a list item at INDENT."""
    lines: list[str] = []
    for key, value in entry.items():
        inner = indent + len(first_prefix)
        if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
            lines.append(f"{' ' * inner}{key}:")
            lines += [f"{' ' * inner}- [{', '.join(map(scalar, item))}]" for item in value]
        else:
            lines += key_value(key, value, inner)
    if first_prefix and lines:
        lines[0] = " " * indent + first_prefix + lines[0][indent + len(first_prefix):]
    return lines


def render(entry: dict[str, t.Any], indent: int, first_prefix: str = "") -> str:
    text = "\n".join(mapping(entry, indent, first_prefix)) + "\n"
    loaded = yaml.safe_load(text)
    if (loaded[0] if first_prefix else loaded) != entry:
        raise GenerateError(f"YAML for {entry['name']} does not read back as written")
    return text


# -- the files ----------------------------------------------------------------------------------


def replace_between(text: str, start: str, end: str, body: str, where: str) -> str:
    """TEXT with everything between the START and END marker lines replaced by BODY."""
    pattern = re.compile(rf"(^[ \t]*{re.escape(start)}[^\n]*\n)(.*?)(^[ \t]*{re.escape(end)})",
                         re.DOTALL | re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        raise GenerateError(f"{where}: expected one `{start}` ... `{end}` block")
    return pattern.sub(lambda match: match.group(1) + body + match.group(3), text)


def replace_plugin_entry(text: str, name: str, body: str) -> str:
    """meltano.yml TEXT with the `plugins:` list item named NAME replaced by BODY.

    The item runs from its `  - name: NAME` line to the next line at its indent or less (the
    next plugin, a comment before it, `  loaders:`, or a top-level key).
    """
    lines = text.splitlines(keepends=True)
    plugins = next((i for i, line in enumerate(lines) if line == "plugins:\n"), None)
    starts = [i for i, line in enumerate(lines)
              if line == f"  - name: {name}\n" and plugins is not None and i > plugins]
    if len(starts) != 1:
        raise GenerateError(f"meltano.yml: expected one `  - name: {name}` under `plugins:`")
    start = end = starts[0]
    end += 1
    while end < len(lines) and not re.match(r"(  - |  [^ \n]|[^ \n])", lines[end]):
        end += 1
    return "".join(lines[:start]) + body + "".join(lines[end:])


def expected_files() -> dict[pathlib.Path, str]:
    """Every generated file as it should read now."""
    readme = README.read_text(encoding="utf-8")
    meltano_yml = MELTANO_YML.read_text(encoding="utf-8")
    files: dict[pathlib.Path, str] = {}
    for plugin in PLUGINS:
        about_json = json.loads(about(plugin, "json"))
        table = settings_table(about(plugin, "markdown"))
        readme = replace_between(readme, f"<!-- {plugin.readme_marker}:start -->",
                                 f"<!-- {plugin.readme_marker}:end -->", table + "\n",
                                 "README.md")
        meltano_yml = replace_plugin_entry(meltano_yml, plugin.name,
                                           render(meltano_entry(plugin, about_json), 2, "- "))
        files[plugin.hub_path] = (
            f"# Meltano Hub definition of {plugin.name}, generated by scripts/generate_docs.py\n"
            f"# from `{plugin.name} --about --format=json`: do not edit by hand.\n"
            "# TODO: add repo, docs, domain_url and logo_url (the hub requires them) once the\n"
            "# project has a public home.\n"
            + render(hub_definition(plugin, about_json), 0))
    files[README] = readme
    files[MELTANO_YML] = meltano_yml
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 naming each stale file")
    args = parser.parse_args(argv)
    try:
        files = expected_files()
    except GenerateError as exc:
        print(f"generate_docs: {exc}", file=sys.stderr)
        return 2

    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    for path in stale:
        relative = path.relative_to(ROOT)
        if args.check:
            print(f"stale: {relative}", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
            print(f"wrote {relative}", file=sys.stderr)
    if args.check and stale:
        print("Run `.venv/bin/python scripts/generate_docs.py` and commit the result.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

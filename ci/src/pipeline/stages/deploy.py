"""Moving `live`: only to versions whose code is exactly the artifact's.

Every function's published version is checked against the manifest before any alias moves, so
a mismatch leaves every alias where it was."""

from typing import Any

from pipeline.adapters.target import Target
from pipeline.concurrency import map_threads
from pipeline.errors import StageFailedError

ALIAS = "live"


def live_versions(target: Target, function_names: dict[str, str]) -> dict[str, str]:
    lam = target.client("lambda")
    order = sorted(function_names.items())
    aliases = map_threads(
        lambda name: lam.get_alias(FunctionName=name, Name=ALIAS), [(name,) for _, name in order]
    )
    return {fn: alias["FunctionVersion"] for (fn, _), alias in zip(order, aliases, strict=True)}


def check_digests(
    target: Target,
    function_names: dict[str, str],
    versions: dict[str, str],
    expected: dict[str, str],
) -> None:
    """Raise unless each version's CodeSha256 equals the expected (base64) digest."""
    lam = target.client("lambda")
    order = sorted(function_names.items())
    configs = map_threads(
        lambda name, version: lam.get_function_configuration(FunctionName=name, Qualifier=version),
        [(name, versions[fn]) for fn, name in order],
    )
    mismatches = [
        f"{name}:{versions[fn]} has CodeSha256 {config['CodeSha256']}, expected {expected[fn]}"
        for (fn, name), config in zip(order, configs, strict=True)
        if config["CodeSha256"] != expected[fn]
    ]
    if mismatches:
        raise StageFailedError(
            "digest mismatch, live not moved: "
            + "; ".join(mismatches)
            + ". The code in the bucket is not the artifact that was built; re-run the promotion "
            "from a clean build"
        )


def move_alias(target: Target, function_names: dict[str, str], versions: dict[str, str]) -> None:
    lam = target.client("lambda")
    map_threads(
        lambda name, version: lam.update_alias(
            FunctionName=name,
            Name=ALIAS,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": {}},
        ),
        [(name, versions[fn]) for fn, name in sorted(function_names.items())],
    )


def summarise(versions: dict[str, str], previous: dict[str, str]) -> str:
    moved = [f"{fn} {previous.get(fn, '?')}→{v}" for fn, v in sorted(versions.items())]
    return "live: " + ", ".join(moved)


def expected_digests(manifest: dict[str, Any]) -> dict[str, str]:
    return {fn: meta["code_sha256"] for fn, meta in manifest["functions"].items()}

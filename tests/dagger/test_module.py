"""The Dagger module, engine-less: its registration, and the graph each function builds, checked
against Dagger's real schema through a fake engine session."""

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import dagger
import graphql
import pytest
from dagger import dag

from newsflow import EmulatorKind, Newsflow, images, main
from pipeline.cli import commands, suite
from tests.dagger.fake_engine import FakeSession, install, load_schema, uninstall

pytestmark = pytest.mark.dagger
REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema()
# CLI verbs with no Dagger twin, and why.
CLI_ONLY = {
    "bench": "benchmarks measure the machine they run on, not a container",
    "check-iam": "it owns an emulator and runs `./pipeline` itself; no container twin yet",
}
# CLI flags with no argument on the Dagger twin, and why.
FLAGS_THE_MODULE_SETS = {
    "target": "the module's credentials decide: AWS with them, the emulator without",
    "json": "the module always asks for JSON where it returns text",
    "export": "promote returns the exported directory itself",
    "out": "package returns the directory itself",
    "artifacts": "promote passes the package container's directory itself",
    "action": "`dagger call emulator up` starts the service; stopping is ending the call",
}
# Dagger arguments that are not a CLI flag, and why.
ARGUMENTS_THE_CLI_TAKES_AS_IS = {"pytest_args": "`./pipeline test` passes its extra arguments on"}
# Dagger functions with no CLI verb: the checks, which call CLI verbs themselves.
DAGGER_ONLY = {"lint", "static_checks"}
SECRET_VALUES = {"AWS_ACCESS_KEY_ID": "AKIAFAKEKEY0000", "AWS_SECRET_ACCESS_KEY": "s3cr3t/value"}


def registered() -> Any:
    return dagger.mod.default_module()._objects["Newsflow"]


def cli_verbs() -> set[str]:
    parser = commands.build_parser()
    [verbs] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(verbs.choices)


@pytest.fixture
def engine() -> Iterator[FakeSession]:
    session = FakeSession(SCHEMA)
    # promote reads promotion_order from the source; the fake answers with this repository's.
    session.values["contents"] = (REPO / "pyproject.toml").read_text()
    install(session)
    yield session
    uninstall()
    assert session.errors == [], "\n\n".join(session.errors)


def run(coroutine_factory: Any) -> Any:
    async def main() -> Any:
        result = await coroutine_factory()
        if isinstance(result, dagger.Directory | dagger.Container | dagger.File):
            await result.id()  # what the engine does with an object a function returns
        return result

    return anyio.run(main)


def module(**options: Any) -> Newsflow:
    return Newsflow(source=dag.directory(), **options)


def with_credentials() -> Newsflow:
    return module(
        aws_access_key_id=dag.set_secret("aws-key-id", SECRET_VALUES["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=dag.set_secret("aws-secret", SECRET_VALUES["AWS_SECRET_ACCESS_KEY"]),
    )


def execs(engine: FakeSession) -> list[list[str]]:
    return [call.args["args"] for call in engine.named("withExec")]


def pipeline_execs(engine: FakeSession) -> list[list[str]]:
    return [args for args in execs(engine) if args and args[0] == "./pipeline"]


# -- registration ----------------------------------------------------------------------------


def test_every_cli_verb_has_a_dagger_function_and_the_reverse() -> None:
    functions = set(registered().functions)
    twins = {verb.replace("-", "_") for verb in cli_verbs() - set(CLI_ONLY)}
    assert twins - functions == set(), "CLI verbs without a Dagger function"
    assert functions - twins - DAGGER_ONLY == set(), "Dagger functions without a CLI verb"


def test_the_suite_runs_with_the_engines_schema_no_credential_and_a_tmp_volume(
    engine: FakeSession,
) -> None:
    run(lambda: CALLS["test"](with_credentials()))
    # Each of stdout, stderr and exitCode sends the whole chain again.
    suites = [c for c in engine.named("withExec") if c.args["args"][:2] == ["./pipeline", "test"]]
    assert suites and all(c.args["insecureRootCapabilities"] is True for c in suites)
    [given] = {c.args["contents"] for c in engine.named("withNewFile")
               if c.args["path"] == main.SCHEMA_FILE}  # fmt: skip
    assert set(graphql.build_schema(given).type_map) == set(SCHEMA.type_map)
    tmp = {c.args["cache"] for c in engine.named("withMountedCache") if c.args["path"] == "/tmp"}
    assert len(tmp) == 1
    assert not engine.named("withSecretVariable") and not engine.named("withServiceBinding")


def cli_flags(verb: str) -> set[str]:
    parser = commands.build_parser()
    [verbs] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {a.dest for a in verbs.choices[verb]._actions if a.dest != "help"}


@pytest.mark.parametrize("verb", sorted(cli_verbs() - set(CLI_ONLY)))
def test_every_cli_flag_has_a_dagger_argument_and_the_reverse(verb: str) -> None:
    parameters = set(registered().functions[verb.replace("-", "_")].parameters)
    flags = cli_flags(verb) - set(FLAGS_THE_MODULE_SETS)
    assert flags == parameters - set(ARGUMENTS_THE_CLI_TAKES_AS_IS)


def test_functions_arguments_types_and_defaults() -> None:
    functions = registered().functions
    signature = {
        name: {p: (str(param.resolved_type), param.signature.default)
               for p, param in function.parameters.items()}
        for name, function in functions.items()
    }  # fmt: skip
    assert set(signature["promote"]) == {"env", "event", "commits", "metadata", "policy", "at",
                                         "approve", "unquarantine", "break_lock"}  # fmt: skip
    # Any name the tfvars define: the CLI inside the container checks it, as on a laptop.
    assert signature["promote"]["env"][0] == str(str)
    assert signature["promote"]["event"][1] is None and signature["promote"]["approve"][1] is None
    assert set(signature["rollback"]) == {"env", "to", "break_lock"}
    assert set(signature["gate"]) == {"event", "commits", "metadata", "policy", "at"}
    assert set(signature["replay"]) == {"record"}
    assert set(signature["history"]) == {"env", "limit"}
    for name in ("apply", "verify"):
        assert set(signature[name]) == {"env"}


def test_every_argument_has_a_doc_and_side_effects_are_never_cached() -> None:
    for name, function in registered().functions.items():
        assert function.doc, f"{name} has no description"
        for parameter in function.parameters.values():
            assert parameter.doc, f"{name}({parameter.name}) has no Doc"
    never = {n for n, f in registered().functions.items() if f.cache_policy == "never"}
    assert never == {"apply", "verify", "promote", "rollback", "status", "history", "metrics",
                     "replay", "gate", "rotate_secret", "audit"}  # fmt: skip
    checks = {n for n, f in registered().functions.items() if f.check}
    assert checks == {"lint", "unit_test", "static_checks", "audit", "test"}


def test_the_moto_service_is_the_locked_moto() -> None:
    locked = re.search(r'name = "moto"\nversion = "([^"]+)"', (REPO / "uv.lock").read_text())
    assert locked and images.MOTO.split("@")[0] == f"motoserver/moto:{locked[1]}"


def test_the_engine_version_is_the_locked_sdk_version() -> None:
    engine = json.loads((REPO / "dagger.json").read_text())["engineVersion"]
    lock = (REPO / "ci" / "uv.lock").read_text()
    locked = re.search(r'name = "dagger-io"\nversion = "([^"]+)"', lock)
    assert locked and engine == f"v{locked[1]}"


# -- the graph each function builds ----------------------------------------------------------


CALLS = {
    "unit_test": lambda m: m.unit_test(),
    "audit": lambda m: m.audit(),
    "package": lambda m: m.package(),
    "apply": lambda m: m.apply(env="preprod"),
    "verify": lambda m: m.verify(env="preprod"),
    "promote": lambda m: m.promote(env="prod", event=dag.file("event.json", "{}"),
                                   approve="alice: reviewed"),
    "rollback": lambda m: m.rollback(env="prod", to="abc1234"),
    "rotate_secret": lambda m: m.rotate_secret(env="prod", name="dashboard"),
    "gate": lambda m: m.gate(event=dag.file("event.json", "{}"), at="2026-11-18T12:00:00+00:00"),
    "status": lambda m: m.status(),
    "history": lambda m: m.history(env="prod"),
    "metrics": lambda m: m.metrics(),
    "replay": lambda m: m.replay(record=dag.file("run.json", "{}")),
    "lint": lambda m: m.lint(),
    "static_checks": lambda m: m.static_checks(),
    "test": lambda m: m.test(),
    "emulator": lambda m: m.emulator(),
}  # fmt: skip


def test_every_function_is_covered_here() -> None:
    assert set(CALLS) == set(registered().functions)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_function_builds_a_valid_pinned_graph(engine: FakeSession, name: str) -> None:
    run(lambda: CALLS[name](module()))
    assert engine.documents, f"{name} sent no query"
    addresses = [call.args["address"] for call in engine.named("from")]
    assert addresses and all("@sha256:" in address for address in addresses), addresses
    assert {a.split("@")[0] for a in addresses} <= {
        images.PYTHON.split("@")[0],
        images.TERRAFORM.split("@")[0],
        images.MOTO.split("@")[0],
    }
    if name == "emulator":  # the moto image alone; it installs nothing
        return
    mounted = {call.args["path"] for call in engine.named("withMountedCache")}
    assert {"/root/.cache/uv", "/root/.cache/pip"} <= mounted
    keys = {call.args["key"] for call in engine.named("cacheVolume")}
    assert {"newsflow-uv", "newsflow-pip", "newsflow-terraform-plugins"} <= keys
    assert {"/var/cache/apt", "/var/lib/apt/lists", "/root/.terraform.d/plugin-cache"} <= mounted
    env = {c.args["name"]: c.args["value"] for c in engine.named("withEnvVariable")}
    assert env["TF_PLUGIN_CACHE_DIR"] == "/root/.terraform.d/plugin-cache"
    # The image's docker-clean hook would empty the apt cache volume after every install: the
    # first install removes it first, and the later ones run in its container.
    script = next(a for a in execs(engine) if "apt-get install" in " ".join(a))[-1]
    assert script.index("rm -f /etc/apt/apt.conf.d/docker-clean") < script.index("apt-get")


@pytest.mark.parametrize("name", ["unit_test", "audit", "apply", "verify", "promote",
                                  "rollback", "status", "history", "metrics", "test"])  # fmt: skip
def test_exec_args_are_the_local_cli_s(engine: FakeSession, name: str) -> None:
    run(lambda: CALLS[name](module()))
    verb = name.replace("_", "-")
    [args] = {tuple(a) for a in pipeline_execs(engine) if a[1] == verb}
    parsed = commands.build_parser().parse_args(list(args[1:]))
    assert parsed.verb == name.replace("_", "-")
    local = {
        "apply": ["apply", "--env", "preprod", "--artifacts", "/artifacts"],
        "promote": ["promote", "--env", "prod", "--event", "/inputs/event.json",
                    "--approve", "alice: reviewed", "--export", "/export"],
        "rollback": ["rollback", "--env", "prod", "--to", "abc1234", "--json"],
        "history": ["history", "--env", "prod", "--json"],
    }  # fmt: skip
    if name in local:
        assert list(args[1:]) == local[name]


def test_promote_without_credentials_targets_the_emulator_service(engine: FakeSession) -> None:
    run(lambda: CALLS["promote"](module()))
    env = {c.args["name"]: c.args["value"] for c in engine.named("withEnvVariable")}
    assert env["PIPELINE_TARGET"] == "emulated"
    assert env["PIPELINE_EMULATOR_ENDPOINT"] == "http://emulator:5000"
    [binding] = engine.named("withServiceBinding")
    assert binding.args["alias"] == "emulator"
    assert engine.named("asService") and engine.named("withExposedPort")[0].args["port"] == 5000
    assert any(c.args["address"] == images.MOTO for c in engine.named("from"))
    assert not engine.named("withSecretVariable")


def test_credentials_reach_containers_only_as_secrets(engine: FakeSession) -> None:
    run(lambda: CALLS["promote"](with_credentials()))
    secrets = {c.args["name"] for c in engine.named("withSecretVariable")}
    assert secrets == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    env = {c.args["name"]: c.args["value"] for c in engine.named("withEnvVariable")}
    assert env["PIPELINE_TARGET"] == "aws"
    assert not secrets & set(env) and not engine.named("withServiceBinding")
    # Apart from creating the secret itself, no query carries a secret's value.
    for document_calls in engine.calls():
        if document_calls[0].name == "setSecret":
            continue
        text = json.dumps([c.args for c in document_calls])
        assert not any(value in text for value in SECRET_VALUES.values())


def test_the_alert_webhook_reaches_terraform_only_as_a_secret(engine: FakeSession) -> None:
    url = "https://events.pagerduty.example/integration/hook-token-value/enqueue"
    newsflow = with_credentials()
    newsflow.alert_webhook_url = dag.set_secret("alert-webhook", url)
    run(lambda: CALLS["promote"](newsflow))
    secrets = {c.args["name"] for c in engine.named("withSecretVariable")}
    assert "TF_VAR_alert_webhook_url" in secrets
    for document_calls in engine.calls():
        if document_calls[0].name != "setSecret":
            assert url not in json.dumps([c.args for c in document_calls])


def test_localstack_is_optional_and_gets_its_token_as_a_secret(engine: FakeSession) -> None:
    token = dag.set_secret("localstack", "ls-token-value")
    run(lambda: CALLS["status"](module(emulator_kind=EmulatorKind.LOCALSTACK,
                                       localstack_auth_token=token)))  # fmt: skip
    assert any(c.args["address"] == images.LOCALSTACK for c in engine.named("from"))
    assert [c.args["name"] for c in engine.named("withSecretVariable")] == ["LOCALSTACK_AUTH_TOKEN"]
    env = {c.args["name"]: c.args["value"] for c in engine.named("withEnvVariable")}
    assert env["PIPELINE_EMULATOR_ENDPOINT"] == "http://emulator:4566"


def test_a_failed_step_raises_and_says_where_it_ran(engine: FakeSession) -> None:
    engine.values.update(exitCode=1, stderr="error: prod is locked by ci\n")
    with pytest.raises(RuntimeError, match=r"(?s)target: the moto emulator.*prod is locked"):
        run(lambda: CALLS["rollback"](module()))


def test_the_suite_container_installs_what_pipeline_test_needs() -> None:
    """The module installs the suite's Debian packages in a cached layer of their own; the list
    is suite.DEBIAN_PACKAGES, which `./pipeline test` would otherwise install on every run."""
    installed = main.SUITE_PACKAGES.split("--no-install-recommends", 1)[1].split()
    assert sorted(installed) == sorted(suite.DEBIAN_PACKAGES.values())

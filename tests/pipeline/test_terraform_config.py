"""The project's Terraform CLI configuration: where provider plugins are cached."""

from pathlib import Path

import pytest

from pipeline.adapters import terraform

pytestmark = pytest.mark.pipeline


def test_the_plugin_cache_is_terraform_s_own_variable_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Dagger module points TF_PLUGIN_CACHE_DIR at a cache volume, so the provider (about
    100 MB) is downloaded once, not on every call."""
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(tmp_path / "volume"))
    config = terraform.write_cli_config(tmp_path / "tf", None).read_text()
    assert f'plugin_cache_dir = "{tmp_path / "volume"}"' in config
    assert (tmp_path / "volume").is_dir()
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR")
    config = terraform.write_cli_config(tmp_path / "other", None).read_text()
    assert f'plugin_cache_dir = "{tmp_path / "other" / "plugin-cache"}"' in config


# The tail of the apply that failed in CI (terraform -no-color), the error line joined.
LOST_CREATE = (
    "module.app.module.canary.aws_lambda_function.this: Still creating... [4m50s elapsed]\n\n"
    "Error: creating Lambda Function (preprod-canary): operation error Lambda: CreateFunction, "
    "https response error StatusCode: 409, RequestID: z24K, ResourceConflictException: Function "
    "already exist: preprod-canary\n\n"
    "  with module.app.module.canary.aws_lambda_function.this,\n"
    '  on modules/function/main.tf line 10, in resource "aws_lambda_function" "this":\n'
)


def test_a_create_whose_answer_was_lost_is_found_with_its_address() -> None:
    """The provider's create succeeded, its answer was lost, the SDK's retry met the function
    (seen in CI under load): the apply imports exactly that function and runs again."""
    found = terraform.lost_creates(LOST_CREATE)
    assert found == [("module.app.module.canary.aws_lambda_function.this", "preprod-canary")]


# The same under load for the deployer role's targeted apply (a CI run of this change).
LOST_ROLE = (
    "Error: creating IAM Role (preprod-deployer): operation error IAM: CreateRole, https "
    "response error StatusCode: 409, RequestID: Mprg, EntityAlreadyExists: Role with name "
    "preprod-deployer already exists.\n\n"
    "  with module.app.aws_iam_role.deployer,\n"
    '  on modules/app/deployer.tf line 59, in resource "aws_iam_role" "deployer":\n'
)


def test_a_role_whose_create_answer_was_lost_is_found_with_its_address() -> None:
    assert terraform.lost_creates(LOST_ROLE) == [
        ("module.app.aws_iam_role.deployer", "preprod-deployer")
    ]
    assert (
        terraform.lost_creates(LOST_ROLE.replace("name preprod-deployer", "name prod-deployer"))
        == []
    )


def test_other_failures_and_other_names_are_not_taken_for_lost_creates() -> None:
    other = LOST_CREATE.replace("already exist: preprod-canary", "already exist: prod-canary")
    assert terraform.lost_creates(other) == []
    assert terraform.lost_creates("Error: creating Lambda Function (preprod-canary): timeout") == []

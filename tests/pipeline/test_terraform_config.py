"""The project's Terraform CLI configuration: where provider plugins are cached."""

from pathlib import Path

import pytest

from pipeline import terraform

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

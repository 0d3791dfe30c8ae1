"""Every image the module runs, pinned by tag and digest.

The tag says what it is; the digest makes it exact. Re-resolve a digest where a registry is
reachable (`docker buildx imagetools inspect <tag>`) when bumping a tag. Sources of the current
digests are in ../shared/dagger/images.md and README ("Dagger")."""

PYTHON = "python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea"
TERRAFORM = (
    "hashicorp/terraform:1.11.4"
    "@sha256:5820b87995595425074f881500a037b0ccd41158d0d9b44d78f5f120612f2d3d"
)
MOTO = (
    "motoserver/moto:5.2.2@sha256:d8ae5edc2bf080e7e4c13f9bd4b29b53ac3b4427e92956318db3dbe23ec43eb7"
)
# The last community line before LocalStack required an auth token (2026-03-23); a newer tag
# needs `--localstack-auth-token`.
LOCALSTACK = (
    "localstack/localstack:4.7.0"
    "@sha256:12253acd9676770e9bd31cbfcf17c5ca6fd7fb5c0c62f3c46dd701f20304260c"
)
# The same uv the local `./pipeline` bootstraps.
UV_VERSION = "0.13.9"

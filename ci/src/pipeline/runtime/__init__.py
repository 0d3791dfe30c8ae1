"""The emulated Lambda runtime: moto stores functions but never runs them, so for an emulated
target the pipeline runs the deployed versions itself, with AWS's event semantics.

Only emulated targets use it; against real AWS the same suites call AWS's own runtime."""

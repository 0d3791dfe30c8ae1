"""The gate: which environments a change may reach, and whether a person must approve first.

`policy` holds the rules, `change` what a change is, `inputs` where the facts come from (files,
flags, GitHub)."""

from pipeline.gate.policy import LEVELS, Decision, decide, frozen_at, load_policy

__all__ = ["LEVELS", "Decision", "decide", "frozen_at", "load_policy"]

"""The access proof: every AWS call the pipeline, its functions and its tests make, recorded by
the emulator and evaluated against the IAM policies Terraform applied, as the principal that
made it."""

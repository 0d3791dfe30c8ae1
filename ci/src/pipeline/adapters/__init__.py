"""What the pipeline talks to: AWS or the emulator behind one target, Terraform, pinned tools."""

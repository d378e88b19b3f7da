"""Shipped launch configs: accelerate YAMLs (`accelerate launch --config_file`) and DeepSpeed JSONs
(`--deepspeed`, for torchrun). `spy-align config-path NAME` prints a path."""

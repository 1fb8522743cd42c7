"""Platform spellings the runtimes normalise differently (case, aliases, variants, missing
parts): shared by the platform-choice properties and the platform fuzz target."""

SPELLINGS = (
    "linux/amd64",
    "linux/x86_64",
    "linux/amd64/v1",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/386",
    "linux/arm64",
    "linux/aarch64",
    "linux/arm64/v8",
    "linux/arm64/v8.0",
    "linux/arm64/v9",
    "linux/arm/v7",
    "linux/armhf",
    "linux/arm/v6",
    "linux/arm",
    "Linux/AMD64",
    "unknown/unknown",
    "windows/amd64",
    "linux/s390x",
    "linux/X86-64/V3",
)

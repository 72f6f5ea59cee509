// TOML fabric configuration (in progress).
